import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type Config } from '../config/config.js';
import { MediaError } from '../domain/errors.js';
import type { ScratchSpace } from '../media/scratch-space.js';
import type { SafeHttpClient } from '../net/safe-http.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { JobQueue } from '../ports/job-queue.js';
import type { TaskStore } from '../ports/task-store.js';
import { ProviderError, type VideoProvider } from '../ports/video-provider.js';
import type { GeminiImage } from '../providers/gemini/gemini-api-types.js';
import { GeminiClient } from '../providers/gemini/gemini-client.js';
import { imageMimeType } from '../providers/gemini/gemini-request.js';
import { GeminiVideoProvider } from '../providers/gemini/gemini-video-provider.js';
import { LocalProvider } from '../providers/local/local-provider.js';
import { ProviderRegistry } from '../engine/routing/provider-registry.js';
import { loadProvidersFile, type ProviderEntry, secretFromEnvironment } from '../providers/providers-file.js';

export interface ProviderSetupDependencies {
  readonly config: Config;
  readonly jobs: JobQueue;
  readonly tasks: TaskStore;
  readonly blobs: BlobStore;
  readonly outbound: SafeHttpClient;
  readonly scratch: ScratchSpace;
  readonly environment?: NodeJS.ProcessEnv;
}

/**
 * Builds every provider entry of SEGUE_PROVIDERS (or the local engine alone) with its client; also
 * answers the `whsec_` secrets of the Gemini entries that asked for webhooks.
 */
export function setUpProviders(deps: ProviderSetupDependencies): { registry: ProviderRegistry; geminiWebhookSecrets: readonly string[]; close: () => Promise<void> } {
  const file = loadProvidersFile(deps.config.providersFile);
  const clients: GeminiClient[] = [];
  const geminiWebhookSecrets: string[] = [];
  const build = (name: string, entry: ProviderEntry): VideoProvider => {
    if (entry.kind === 'local') return new LocalProvider(deps.jobs, deps.blobs, name);
    const apiKey = secretFromEnvironment(entry.apiKeyEnv, name, deps.environment);
    const webhookSecret = entry.webhookSecretEnv ? secretFromEnvironment(entry.webhookSecretEnv, name, deps.environment) : undefined;
    if (webhookSecret && !webhookSecret.startsWith('whsec_')) throw new ConfigError(`SEGUE_PROVIDERS: ${entry.webhookSecretEnv} must be a whsec_ secret`);
    if (webhookSecret) geminiWebhookSecrets.push(webhookSecret);
    const client = new GeminiClient({
      baseUrl: entry.baseUrl,
      apiKey,
      timeoutMs: entry.requestTimeoutSeconds * 1000,
      maxDownloadBytes: deps.config.mediaMaxBytes,
    });
    clients.push(client);
    return new GeminiVideoProvider(name, entry, {
      client,
      findTask: (id) => deps.tasks.findById(id),
      fetchImage: (url, signal) => fetchImage(deps, url, signal),
      webhookUrl: webhookSecret ? `${deps.config.publicUrl}/hooks/gemini` : null,
    });
  };
  return {
    registry: new ProviderRegistry(file, build),
    geminiWebhookSecrets,
    close: async () => {
      await Promise.all(clients.map((client) => client.close()));
    },
  };
}

/** A user's image, fetched like any user media (SSRF-guarded, capped) and inlined for the upstream. */
async function fetchImage(deps: ProviderSetupDependencies, url: string, signal: AbortSignal): Promise<GeminiImage> {
  const directory = await deps.scratch.pathForRequest('image');
  await fs.mkdir(directory);
  try {
    const file = path.join(directory, 'image');
    try {
      await deps.outbound.download(url, file, { maxBytes: Math.min(deps.config.mediaMaxBytes, 20 * 1024 * 1024), timeoutMs: deps.config.mediaTimeoutMs, signal });
    } catch (error) {
      if (error instanceof MediaError) throw new ProviderError(`the image could not be fetched: ${error.message}`, false, 'input_unusable');
      throw error;
    }
    const bytes = await fs.readFile(file);
    const mimeType = imageMimeType(bytes);
    if (!mimeType) throw new ProviderError('the image is not a PNG, JPEG or WebP picture', false, 'input_unusable');
    return { bytesBase64Encoded: bytes.toString('base64'), mimeType };
  } finally {
    await fs.rm(directory, { recursive: true, force: true });
  }
}
