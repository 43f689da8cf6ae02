import { secretFingerprint } from '../credential-identity.js';
import { verifyStandardWebhook } from '../../callbacks/webhook-signatures.js';
import { type ProviderWebhook, WEBHOOK_TASK_PARAMETER } from '../../ports/video-provider.js';
import { EntryConfigError, type ProviderPlugin, secretFromEnvironment } from '../provider-plugin.js';
import { ReplicateClient } from './replicate-client.js';
import { replicateEntrySchema } from './replicate-entry.js';
import { ReplicateVideoProvider } from './replicate-video-provider.js';

/** The query parameter of the webhook URL that names the task (Replicate echoes nothing of Segue's). */

const taskIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** Veo 3.1 on Replicate: one entry per account (API token). */
export const replicatePlugin: ProviderPlugin<typeof replicateEntrySchema> = {
  kind: 'replicate',
  entrySchema: replicateEntrySchema,
  create(name, entry, deps) {
    const apiToken = secretFromEnvironment(entry.apiTokenEnv, name, deps.environment);
    const webhookSecret = entry.webhookSecretEnv ? secretFromEnvironment(entry.webhookSecretEnv, name, deps.environment) : undefined;
    if (webhookSecret && !webhookSecret.startsWith('whsec_')) throw new EntryConfigError(`${entry.webhookSecretEnv} must be a whsec_ secret`);
    const client = new ReplicateClient({
      baseUrl: entry.baseUrl,
      apiToken,
      timeoutMs: entry.requestTimeoutSeconds * 1000,
      maxDownloadBytes: deps.mediaMaxBytes,
    });
    const hookUrl = `${deps.publicUrl}/hooks/${name}`;
    const provider = new ReplicateVideoProvider(name, entry, {
      client,
      credentialIdentity: secretFingerprint(apiToken),
      webhookUrl: webhookSecret ? (taskId) => `${hookUrl}?${WEBHOOK_TASK_PARAMETER}=${encodeURIComponent(taskId)}` : null,
      now: deps.now,
    });
    return { provider, ...(webhookSecret ? { webhook: replicateWebhook(webhookSecret, deps.now) } : {}), close: () => client.close() };
  },
};

/**
 * Replicate's deliveries are Standard Webhooks (signature over the body, 5-minute window); the
 * body is the prediction, which carries nothing of Segue's, so the task is named by the URL Segue
 * gave (`?task=`). A delivery is only a hint: the task's poll reads the prediction again before
 * anything is settled.
 */
export function replicateWebhook(secret: string, now: () => number): ProviderWebhook {
  return {
    verify(headers, rawBody, query) {
      if (!verifyStandardWebhook({ headers, rawBody, secret, nowSeconds: Math.floor(now() / 1000) })) return undefined;
      const taskId = query?.[WEBHOOK_TASK_PARAMETER];
      return { deliveryId: String(headers['webhook-id']), taskId: typeof taskId === 'string' && taskIdPattern.test(taskId) ? taskId : undefined };
    },
  };
}
