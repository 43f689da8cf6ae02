import type { AttemptOutcome, CallbackAttempt, DeliveryState } from '../ports/callback-outbox.js';

/** What happened when a callback was sent. */
export interface SendResult {
  readonly statusCode: number | null;
  /** The connection was refused by Segue's address guard: retrying cannot help. */
  readonly refused: boolean;
  /** From a 429 or 503 answer's Retry-After, in milliseconds. */
  readonly retryAfterMs: number | null;
}

/**
 * Decides where a delivery goes after an attempt: any 2xx delivers; 410 stops at once (the
 * receiver asked for no more); a guard refusal ends it; otherwise the next attempt follows the
 * schedule (±10 % jitter, so many receivers coming back do not get hit together), never before
 * a 429/503's Retry-After; after the last scheduled attempt the delivery is exhausted.
 */
export function decideAfterAttempt(
  attempt: CallbackAttempt,
  result: SendResult,
  scheduleMs: readonly number[],
  random: () => number = Math.random,
): AttemptOutcome {
  const finish = (state: DeliveryState): AttemptOutcome => ({ state, nextAttemptAt: null, attempt });
  const { statusCode } = result;
  if (statusCode !== null && statusCode >= 200 && statusCode < 300) return finish('delivered');
  if (result.refused) return finish('refused');
  if (statusCode === 410) return finish('stopped');
  const scheduled = scheduleMs[attempt.number];
  if (scheduled === undefined) return finish('exhausted');
  const jittered = Math.round(scheduled * (0.9 + 0.2 * random()));
  const honoured = statusCode === 429 || statusCode === 503 ? Math.max(jittered, result.retryAfterMs ?? 0) : jittered;
  return { state: 'pending', nextAttemptAt: attempt.attemptedAt + attempt.latencyMs + honoured, attempt };
}
