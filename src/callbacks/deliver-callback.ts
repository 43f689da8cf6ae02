import type { DestinationLimits } from './destination-limits.js';
import { decideAfterAttempt, type SendResult } from './delivery-policy.js';
import { parseRetryAfter } from '../net/retry-after.js';
import { standardWebhookSignature, veoWebhookSignature } from './webhook-signatures.js';
import { AddressRefusedError } from '../net/address-guard.js';
import type { SafeHttpClient } from '../net/safe-http.js';
import type { CallbackBody } from '../ports/callback-body.js';
import type { Clock } from '../ports/clock.js';
import type { CallbackDelivery, WebhookSigningKeys } from '../ports/callback-outbox.js';
import type { Storage } from '../ports/storage.js';
import type { JobContext, OutcomeBeingWritten, RetryAfter } from '../jobs/worker.js';
import type { DeliveryStatements } from './delivery-statements.js';

export interface CallbackDependencies {
  readonly storage: Storage;
  readonly http: SafeHttpClient;
  readonly bodyFor: CallbackBody;
  readonly timeoutMs: number;
  readonly scheduleMs: readonly number[];
  readonly clock: Clock;
  /** Deliveries in flight per destination: a busy destination's next delivery waits, without an attempt. */
  readonly destinations: DestinationLimits;
  /** The reads and commits of deliveries, grouped across those under way in this process. */
  readonly statements: DeliveryStatements;
}

const previewLimit = 512;

/** Headers of one attempt: Standard Webhooks always, the Veo dialect's pair when the key has an HMAC key. */
export function signedHeaders(delivery: CallbackDelivery, taskId: string, key: WebhookSigningKeys, body: string, now: number): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  const secrets = [key.webhookSecret];
  if (key.previousWebhookSecret && (key.previousWebhookSecretExpiresAt ?? 0) > now) secrets.push(key.previousWebhookSecret);
  return {
    'webhook-id': delivery.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((secret) => standardWebhookSignature(secret, delivery.id, timestamp, body)).join(' '),
    ...(key.veoHmacKey
      ? { 'x-webhook-timestamp': String(timestamp), 'x-webhook-signature': veoWebhookSignature(key.veoHmacKey, taskId, timestamp) }
      : {}),
  };
}

/**
 * `callback.deliver`: one attempt of a delivery round, logged with its outcome in one commit, then
 * its job's outcome. While the delivery stays pending the job is rescheduled for the next attempt
 * (without spending its crash-retry budget), so the whole schedule runs on one job. The reads and
 * the commits of deliveries under way together are grouped (`DeliveryStatements`). Once the
 * exchange is over the worker's place is free for the next delivery while the attempt is being
 * logged (a commit that waits its turn behind other writes must not hold the place).
 */
export async function deliverCallback(
  deps: CallbackDependencies,
  { deliveryId, round }: { deliveryId: string; round: number },
  context: JobContext,
): Promise<RetryAfter | OutcomeBeingWritten | void> {
  const toSend = await deps.statements.toSend(deliveryId);
  if (!toSend) {
    const delivery = await deps.storage.callbacks.find(deliveryId);
    if (!delivery || delivery.state !== 'pending' || delivery.round !== round) return;
    throw new Error(`delivery ${deliveryId} lost its task or key`);
  }
  const { delivery, task, signing } = toSend;
  if (delivery.state !== 'pending' || delivery.round !== round) return;
  const firstDelay = deps.scheduleMs[0] ?? 0;
  if (delivery.attemptsInRound === 0 && delivery.nextAttemptAt !== null && deps.clock.now() < delivery.nextAttemptAt + firstDelay) {
    return { retryAfterMs: delivery.nextAttemptAt + firstDelay - deps.clock.now() };
  }
  const body = JSON.stringify(await deps.bodyFor(task));

  const place = await deps.destinations.enter(delivery.url);
  // The destination is slow and has its fill of deliveries under way: this one is put off (no
  // attempt is spent), freeing the worker's place for other destinations' deliveries.
  if ('putOffMs' in place) return { retryAfterMs: place.putOffMs };
  const started = deps.clock.now();
  const measured = performance.now();
  let result: SendResult = { statusCode: null, refused: false, retryAfterMs: null };
  let error: string | null = null;
  let preview: string | null = null;
  try {
    const response = await deps.http.postJson(delivery.url, body, signedHeaders(delivery, task.id, signing, body, started), {
      timeoutMs: deps.timeoutMs,
      maxBodyBytes: previewLimit,
    });
    result = { statusCode: response.statusCode, refused: false, retryAfterMs: parseRetryAfter(response.headers['retry-after'], deps.clock.now()) };
    preview = response.bodyPreview;
  } catch (failure) {
    error = failure instanceof Error ? failure.message : String(failure);
    result = { ...result, refused: failure instanceof AddressRefusedError };
  } finally {
    place.leave();
  }
  const made = {
    round,
    number: delivery.attemptsInRound + 1,
    attemptedAt: started,
    statusCode: result.statusCode,
    latencyMs: Math.round(performance.now() - measured),
    error,
    responsePreview: preview,
  };
  const outcome = decideAfterAttempt(made, result, deps.scheduleMs);
  // The log entry and the delivery's move commit together; the job's outcome follows.
  const recorded = deps.statements.record({ deliveryId, outcome, job: { jobId: context.jobId, workerId: context.workerId } }).then((moved) => {
    if (!moved) return;
    context.logger.info(
      { taskId: task.id, deliveryId, attempt: made.number, statusCode: result.statusCode, state: outcome.state, error },
      'callback attempt',
    );
  });
  return { outcomeWritten: recorded };
}
