import { IDEMPOTENCY_WINDOW_MS } from '../../domain/idempotency.js';
import type { BlobStore } from '../../ports/blob-store.js';
import type { Storage } from '../../ports/storage.js';
import type { JobContext, RetryAfter } from '../../jobs/worker.js';

/** How often the database and the store are swept of what expired. */
export const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
/** An upload is stored just before its task's transaction: one no task names after an hour never will. */
const ORPHAN_UPLOAD_AGE_MS = 60 * 60 * 1000;
/** Uploads looked at per sweep (the next sweep takes the rest). */
const UPLOADS_PER_SWEEP = 200;

export interface SweepDependencies {
  readonly storage: Storage;
  readonly blobs: BlobStore;
  readonly now: () => number;
}

/**
 * `maintenance.sweep`: forgets idempotency keys past their window and rate-limit admissions that
 * left theirs, and removes uploaded videos that no task names (a process that died between storing
 * an upload and committing its task), then asks to run again later. One job for the whole database
 * and store (whichever worker claims it); each machine's scratch space is swept by its own processes.
 */
export async function sweepExpired(deps: SweepDependencies, context: JobContext): Promise<RetryAfter> {
  const forgotten = await deps.storage.idempotency.sweep(deps.now() - IDEMPOTENCY_WINDOW_MS);
  if (forgotten > 0) context.logger.info({ forgotten }, 'expired idempotency keys forgotten');
  const admissions = await deps.storage.rateWindows.sweep(deps.now());
  if (admissions > 0) context.logger.debug({ admissions }, 'rate-limit admissions past their window forgotten');
  let orphans = 0;
  for (const key of await deps.blobs.listOlder('imports/', new Date(deps.now() - ORPHAN_UPLOAD_AGE_MS), UPLOADS_PER_SWEEP)) {
    if (await deps.storage.tasks.usesSourceVideo(key)) continue;
    await deps.blobs.delete(key);
    orphans++;
  }
  if (orphans > 0) context.logger.info({ orphans }, 'uploads no task names removed');
  return { retryAfterMs: SWEEP_INTERVAL_MS };
}
