import fs from 'node:fs/promises';
import { MediaError } from '../../domain/errors.js';
import { ProviderError } from '../../ports/video-provider.js';
import { imageMimeType } from '../gemini/gemini-request.js';
import { EntryConfigError, type ProviderPlugin, type ProviderPluginDependencies, secretFromEnvironment } from '../provider-plugin.js';
import { VertexClient } from './vertex-client.js';
import { readServiceAccount, type ServiceAccount } from './vertex-credentials.js';
import { vertexEntrySchema } from './vertex-entry.js';
import { VertexVideoProvider } from './vertex-video-provider.js';

/** Veo 3.1 on Vertex AI: one entry per project and service account. */
export const vertexPlugin: ProviderPlugin<typeof vertexEntrySchema> = {
  kind: 'vertex',
  entrySchema: vertexEntrySchema,
  create(name, entry, deps) {
    const file = secretFromEnvironment(entry.credentialsFileEnv, name, deps.environment);
    let account: ServiceAccount;
    try {
      account = readServiceAccount(file);
    } catch (error) {
      throw new EntryConfigError(`provider ${name} (${entry.credentialsFileEnv}): ${(error as Error).message}`);
    }
    const client = new VertexClient({
      baseUrl: entry.baseUrl ?? `https://${entry.location}-aiplatform.googleapis.com`,
      storageBaseUrl: entry.storageBaseUrl,
      project: entry.project,
      location: entry.location,
      account,
      timeoutMs: entry.requestTimeoutSeconds * 1000,
      maxDownloadBytes: deps.mediaMaxBytes,
      now: deps.now,
    });
    const provider = new VertexVideoProvider(name, entry, { client, fetchImage: (url, signal) => fetchImage(deps, url, signal), now: deps.now });
    return { provider, close: () => client.close() };
  },
};

/** A user's image, fetched like any user media (SSRF-guarded, capped) and inlined for the upstream. */
async function fetchImage(deps: ProviderPluginDependencies, url: string, signal: AbortSignal): Promise<{ bytesBase64Encoded: string; mimeType: string }> {
  const file = await deps.scratch.pathForRequest('image');
  try {
    try {
      await deps.fetchMedia(url, file, { maxBytes: Math.min(deps.mediaMaxBytes, 20 * 1024 * 1024), signal });
    } catch (error) {
      if (error instanceof MediaError) throw new ProviderError(`the image could not be fetched: ${error.message}`, false, 'input_unusable');
      throw error;
    }
    const bytes = await fs.readFile(file);
    const mimeType = imageMimeType(bytes);
    if (!mimeType) throw new ProviderError('the image is not a PNG, JPEG or WebP picture', false, 'input_unusable');
    return { bytesBase64Encoded: bytes.toString('base64'), mimeType };
  } finally {
    await fs.rm(file, { force: true });
  }
}
