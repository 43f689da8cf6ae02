import { createHash } from 'node:crypto';
import { TIMESTAMP_TOLERANCE_SECONDS, verifySegueCallback } from '../../callbacks/webhook-signatures.js';
import { type ProviderWebhook, WEBHOOK_TASK_PARAMETER } from '../../ports/video-provider.js';

/** The query parameter of the callback URL that names Segue's task (the service's body names only its own). */

/**
 * The service's callbacks, verified by its HMAC (`X-Webhook-Signature` over `taskId.timestamp`,
 * 5-minute window). The signature does not cover the body, so a callback is only a hint: the
 * task's poll becomes due and re-reads `record-info` before anything is settled.
 */
export function veoDialectWebhook(hmacKey: string, now: () => number): ProviderWebhook {
  return {
    verify(headers, rawBody, query) {
      const nowSeconds = Math.floor(now() / 1000);
      if (!verifySegueCallback({ headers, rawBody, veoHmacKey: hmacKey, nowSeconds, toleranceSeconds: TIMESTAMP_TOLERANCE_SECONDS })) return undefined;
      const timestamp = headerOf(headers, 'x-webhook-timestamp') ?? '';
      const taskId = query?.[WEBHOOK_TASK_PARAMETER];
      // One delivery per signed (task, timestamp) pair and body: a replay of the same one is a duplicate.
      const deliveryId = `veo-${createHash('sha256').update(`${timestamp}.${rawBody}`).digest('hex').slice(0, 40)}`;
      return { deliveryId, taskId: typeof taskId === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(taskId) ? taskId : undefined };
    },
  };
}

function headerOf(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
