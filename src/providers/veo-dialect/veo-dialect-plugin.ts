import type { ProviderPlugin } from '../provider-plugin.js';
import { secretFromEnvironment } from '../provider-plugin.js';
import { loopbackLinkRefusal } from '../public-link-reach.js';
import { DialectUpstreamClient } from '../dialect-upstream-client.js';
import { veoDialectEntrySchema } from './veo-dialect-entry.js';
import { VeoDialectProvider } from './veo-dialect-provider.js';
import { WEBHOOK_TASK_PARAMETER } from '../../ports/video-provider.js';
import { veoDialectWebhook } from './veo-dialect-webhook.js';

/** A kie-style Veo service (`/api/v1/veo/*`) — kie.ai, another Segue — as an upstream: one entry per account. */
export const veoDialectPlugin: ProviderPlugin<typeof veoDialectEntrySchema> = {
  kind: 'veo-dialect',
  entrySchema: veoDialectEntrySchema,
  create(name, entry, deps) {
    const apiKey = secretFromEnvironment(entry.apiKeyEnv, name, deps.environment);
    const hmacKey = entry.webhookHmacKeyEnv ? secretFromEnvironment(entry.webhookHmacKeyEnv, name, deps.environment) : undefined;
    const client = new DialectUpstreamClient({
      label: `${name} (veo-dialect)`,
      baseUrl: entry.baseUrl,
      apiKey,
      timeoutMs: entry.requestTimeoutSeconds * 1000,
      maxDownloadBytes: deps.mediaMaxBytes,
      fetchMedia: deps.fetchMedia,
    });
    const hookUrl = `${deps.publicUrl}/hooks/${name}`;
    const linkRefusal = loopbackLinkRefusal(deps.publicUrl, entry.baseUrl, name);
    const provider = new VeoDialectProvider(name, entry, {
      client,
      callbackUrlFor: hmacKey ? (taskId) => `${hookUrl}?${WEBHOOK_TASK_PARAMETER}=${encodeURIComponent(taskId)}` : null,
      now: deps.now,
      ...(linkRefusal ? { linkRefusal } : {}),
    });
    return { provider, ...(hmacKey ? { webhook: veoDialectWebhook(hmacKey, deps.now) } : {}), close: () => client.close() };
  },
};
