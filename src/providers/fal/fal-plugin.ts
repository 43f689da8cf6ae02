import { secretFingerprint } from '../credential-identity.js';
import { loopbackLinkRefusal } from '../public-link-reach.js';
import { type ProviderPlugin, secretFromEnvironment } from '../provider-plugin.js';
import { FalClient } from './fal-client.js';
import { falEntrySchema } from './fal-entry.js';
import { WEBHOOK_TASK_PARAMETER } from '../../ports/video-provider.js';
import { FalVideoProvider } from './fal-video-provider.js';
import { FalWebhookVerifier } from './fal-webhook.js';

/** Veo 3.1 on fal.ai's queue: one entry per account (key). */
export const falPlugin: ProviderPlugin<typeof falEntrySchema> = {
  kind: 'fal',
  entrySchema: falEntrySchema,
  create(name, entry, deps) {
    const apiKey = secretFromEnvironment(entry.apiKeyEnv, name, deps.environment);
    const client = new FalClient({
      baseUrl: entry.baseUrl,
      apiKey,
      timeoutMs: entry.requestTimeoutSeconds * 1000,
      maxDownloadBytes: deps.mediaMaxBytes,
      downloadTimeoutMs: Math.max(deps.mediaTimeoutMs, entry.requestTimeoutSeconds * 1000),
      allowPrivateNetworks: deps.allowPrivateNetworks ?? false,
    });
    const webhook = entry.webhooks
      ? new FalWebhookVerifier({
          jwksUrl: entry.webhookJwksUrl,
          jwksCacheMs: entry.webhookJwksCacheSeconds * 1000,
          ...(entry.webhookUserId ? { userId: entry.webhookUserId } : {}),
          now: deps.now,
        })
      : undefined;
    const hookUrl = `${deps.publicUrl}/hooks/${name}`;
    const provider = new FalVideoProvider(name, entry, {
      client,
      credentialIdentity: secretFingerprint(apiKey),
      webhookUrlFor: webhook ? (taskId) => `${hookUrl}?${WEBHOOK_TASK_PARAMETER}=${encodeURIComponent(taskId)}` : null,
      linkRefusal: loopbackLinkRefusal(deps.publicUrl, entry.baseUrl, 'fal'),
      now: deps.now,
    });
    return {
      provider,
      ...(webhook ? { webhook } : {}),
      close: async () => {
        await client.close();
        await webhook?.close();
      },
    };
  },
};
