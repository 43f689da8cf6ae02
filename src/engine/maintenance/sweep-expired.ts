import { IDEMPOTENCY_WINDOW_MS } from '../../domain/idempotency.js';
import type { Storage } from '../../ports/storage.js';
import type { JobContext, RetryAfter } from '../../jobs/worker.js';

/** How often the database is swept of what expired. */
export const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

/**
 * `maintenance.sweep`: forgets idempotency keys past their window and rate-limit admissions that
 * left theirs, then asks to run again later. One job for the whole database (whichever worker
 * claims it); each machine's scratch space is swept by its own processes.
 */
export async function sweepExpired(storage: Storage, now: () => number, context: JobContext): Promise<RetryAfter> {
  const forgotten = await storage.idempotency.sweep(now() - IDEMPOTENCY_WINDOW_MS);
  if (forgotten > 0) context.logger.info({ forgotten }, 'expired idempotency keys forgotten');
  const admissions = await storage.rateWindows.sweep(now());
  if (admissions > 0) context.logger.debug({ admissions }, 'rate-limit admissions past their window forgotten');
  return { retryAfterMs: SWEEP_INTERVAL_MS };
}
