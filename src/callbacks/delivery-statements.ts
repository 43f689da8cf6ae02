import type { AttemptOutcome, DeliveryToSend } from '../ports/callback-outbox.js';
import type { Storage } from '../ports/storage.js';
import { GroupedCalls } from '../jobs/grouped-calls.js';

/** One attempt to log, with the job that made it (then completed, or rescheduled for the next attempt). */
export interface AttemptToRecord {
  readonly deliveryId: string;
  readonly outcome: AttemptOutcome;
  readonly job: { readonly jobId: string; readonly workerId: string };
}

/** Reads of deliveries at once: at most this many a statement. */
const READ_GROUP = 200;
/** Attempts logged in one transaction at most (a transaction holds SQLite's write lock: kept short). */
const RECORD_GROUP = 64;
/** Deliveries read ahead (`prime`) kept at most, in case some never run here. */
const PRIMED_MAX = 1_024;

/**
 * The statements of callback deliveries, grouped across the deliveries under way in this process:
 * one read answers every delivery claimed together (delivery, task and signing keys, joined), and
 * one transaction logs the attempts that ended together, and one statement completes their jobs.
 */
export class DeliveryStatements {
  private readonly reads: GroupedCalls<string, DeliveryToSend | undefined>;
  private readonly records: GroupedCalls<AttemptToRecord, boolean>;
  /** Deliveries read ahead by the transaction that owed them, each used once by its first attempt here. */
  private readonly primed = new Map<string, DeliveryToSend>();

  constructor(storage: Storage) {
    this.reads = new GroupedCalls(
      async (ids) => {
        const found = await storage.callbacks.findToSend(ids);
        return ids.map((id) => found.get(id));
      },
      { maxGroup: READ_GROUP, inFlight: 2 },
    );
    // One transaction at a time: the next group gathers while the last one commits.
    this.records = new GroupedCalls((attempts) => recordAll(storage, attempts), { maxGroup: RECORD_GROUP, inFlight: 1 });
  }

  /** The delivery with its task and signing keys; undefined if it is gone or its task is not its key's own. */
  toSend(deliveryId: string): Promise<DeliveryToSend | undefined> {
    const primed = this.primed.get(deliveryId);
    if (primed) {
      this.primed.delete(deliveryId);
      return Promise.resolve(primed);
    }
    return this.reads.call(deliveryId);
  }

  /**
   * A delivery as the transaction that owed it read it (then committed): its first attempt here
   * needs no read of its own. Anything changed since is caught where it is recorded (a delivery
   * no longer pending in that round is not moved).
   */
  prime(toSend: DeliveryToSend): void {
    if (this.primed.size >= PRIMED_MAX) this.primed.delete(this.primed.keys().next().value!);
    this.primed.set(toSend.delivery.id, toSend);
  }

  /** Forgets a delivery read ahead that will not run here after all. */
  forget(deliveryId: string): void {
    this.primed.delete(deliveryId);
  }

  /**
   * Logs the attempt and moves the delivery (false if it was no longer pending in that round), then
   * completes its job, or reschedules it for the next attempt. A job whose lease this worker lost
   * is left to its new owner (its write finds no row).
   */
  record(attempt: AttemptToRecord): Promise<boolean> {
    return this.records.call(attempt);
  }
}

/**
 * The attempts and their deliveries' moves commit together; the jobs' outcomes follow, outside the
 * transaction (on PostgreSQL a serializable transaction that also wrote the jobs table would
 * conflict with every transaction enqueuing a job). A crash in between leaves a job whose lease
 * expires: run again, it finds its delivery moved and ends (or makes the next attempt early).
 */
async function recordAll(storage: Storage, attempts: readonly AttemptToRecord[]): Promise<boolean[]> {
  const moved = await storage.transaction((stores) => stores.callbacks.recordAttempts(attempts));
  const finished = new Map<string, string[]>();
  for (const [index, { outcome, job }] of attempts.entries()) {
    // Not moved: the delivery was no longer this attempt's to log (finished elsewhere); the job is done.
    if (moved[index] && outcome.state === 'pending' && outcome.nextAttemptAt !== null) {
      await storage.jobs.reschedule(job.jobId, job.workerId, outcome.nextAttemptAt, { spendAttempt: false });
    } else {
      finished.set(job.workerId, [...(finished.get(job.workerId) ?? []), job.jobId]);
    }
  }
  for (const [workerId, jobIds] of finished) await storage.jobs.completeMany(jobIds, workerId);
  return moved;
}
