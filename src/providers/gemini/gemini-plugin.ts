import fs from 'node:fs/promises';
import { verifyStandardWebhook } from '../../callbacks/webhook-signatures.js';
import { MediaError } from '../../domain/errors.js';
import { ProviderError, type ProviderWebhook } from '../../ports/video-provider.js';
import { secretFingerprint } from '../credential-identity.js';
import { EntryConfigError, type ProviderPlugin, type ProviderPluginDependencies, secretFromEnvironment } from '../provider-plugin.js';
import type { GeminiImage } from './gemini-api-types.js';
import { geminiEntrySchema } from './gemini-entry.js';
import { GeminiClient } from './gemini-client.js';
import { imageMimeType } from './gemini-request.js';
import { GeminiVideoProvider } from './gemini-video-provider.js';


/** Veo 3.1 on the Gemini API: one entry per account (API key). */
export const geminiPlugin: ProviderPlugin<typeof geminiEntrySchema> = {
  kind: 'gemini',
  entrySchema: geminiEntrySchema,
  create(name, entry, deps) {
    const apiKey = secretFromEnvironment(entry.apiKeyEnv, name, deps.environment);
    const webhookSecret = entry.webhookSecretEnv ? secretFromEnvironment(entry.webhookSecretEnv, name, deps.environment) : undefined;
    if (webhookSecret && !webhookSecret.startsWith('whsec_')) throw new EntryConfigError(`${entry.webhookSecretEnv} must be a whsec_ secret`);
    const client = new GeminiClient({
      baseUrl: entry.baseUrl,
      apiKey,
      timeoutMs: entry.requestTimeoutSeconds * 1000,
      maxDownloadBytes: deps.mediaMaxBytes,
    });
    const provider = new GeminiVideoProvider(name, entry, {
      client,
      fetchImage: (url, signal) => fetchImage(deps, url, signal),
      webhookUrl: webhookSecret ? `${deps.publicUrl}/hooks/${name}` : null,
      credentialIdentity: secretFingerprint(apiKey),
      now: deps.now,
    });
    return { provider, ...(webhookSecret ? { webhook: geminiWebhook(webhookSecret, deps.now) } : {}), close: () => client.close() };
  },
};

/**
 * Gemini's Standard Webhooks deliveries: verified (signature, 5-minute window); the task id is
 * where Segue asked Gemini to put it (`webhookConfig.userMetadata`), in either spelling.
 */
function geminiWebhook(secret: string, now: () => number): ProviderWebhook {
  return {
    verify(headers, rawBody) {
      if (!verifyStandardWebhook({ headers, rawBody, secret, nowSeconds: Math.floor(now() / 1000) })) return undefined;
      let payload: unknown;
      try {
        payload = JSON.parse(rawBody);
      } catch {
        payload = undefined;
      }
      const data = (payload as { data?: Record<string, unknown> } | null)?.data;
      const metadata = (data?.['user_metadata'] ?? data?.['userMetadata']) as Record<string, unknown> | undefined;
      const taskId = metadata?.['segueTaskId'];
      return {
        deliveryId: String(headers['webhook-id']),
        taskId: typeof taskId === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(taskId) ? taskId : undefined,
      };
    },
  };
}

/** A user's image, fetched like any user media (SSRF-guarded, capped) and inlined for the upstream. */
async function fetchImage(deps: ProviderPluginDependencies, url: string, signal: AbortSignal): Promise<GeminiImage> {
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
