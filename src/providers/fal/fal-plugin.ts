import net from 'node:net';
import { secretFingerprint } from '../credential-identity.js';
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
      linkRefusal: linkRefusal(deps.publicUrl, entry.baseUrl),
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

/**
 * fal fetches an extension's source from Segue's public URL: a loopback one it cannot reach
 * (unless fal itself runs on this machine, as the fake does), so the native route is refused.
 */
export function linkRefusal(publicUrl: string, falBaseUrl: string): string | undefined {
  if (!isLoopback(publicUrl) || isLoopback(falBaseUrl)) return undefined;
  return `SEGUE_PUBLIC_URL (${new URL(publicUrl).origin}) is a loopback address fal cannot reach; set it to an address fal can fetch from`;
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (net.isIPv4(host)) return host.startsWith('127.') || host === '0.0.0.0';
  if (net.isIPv6(host)) return host === '::1' || host === '::' || /^::ffff:127\./.test(host);
  return false;
}
