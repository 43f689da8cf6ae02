/** A job as stored. `payload` is validated against its kind's schema before a handler sees it. */
export interface JobRecord {
  readonly id: string;
  readonly kind: string;
  readonly payload: unknown;
  readonly idempotencyKey: string | null;
  readonly state: JobState;
  /** Claims whose handler ran to an outcome (or is running now). */
  readonly attempts: number;
  /** Claims lost because the worker died (its lease expired): bounded apart, by MAX_INTERRUPTIONS. */
  readonly interruptions: number;
  readonly maxAttempts: number;
  readonly runAt: number;
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: number | null;
  readonly lastError: string | null;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'dead';

export interface EnqueueRequest {
  readonly kind: string;
  readonly payload: unknown;
  /** At most one job exists per key; enqueuing a key that exists does nothing. */
  readonly idempotencyKey?: string;
  readonly runAt?: number;
  readonly maxAttempts: number;
}

/**
 * The durable queue. A claim takes a lease; a worker that stops heart-beating loses it and the
 * job becomes claimable again. Every method that ends or moves a claimed job is guarded by the
 * lease owner, so a worker that lost its lease cannot complete a job someone else now runs.
 */
export interface JobQueue {
  enqueue(request: EnqueueRequest): Promise<void>;
  /**
   * Enqueues a job already claimed by `lease.workerId` (running, its first attempt, its lease
   * taken), for that worker to run at once; no other worker takes it before the lease expires.
   * Answers the job as written, or undefined when a job with its key exists (nothing written).
   */
  enqueueLeased(request: EnqueueRequest, lease: { readonly workerId: string; readonly leaseMs: number }): Promise<JobRecord | undefined>;
  claim(workerId: string, kinds: readonly string[], leaseMs: number): Promise<JobRecord | undefined>;
  /** Claims up to `limit` due jobs of these kinds in one statement, earliest due first. */
  claimBatch(workerId: string, kinds: readonly string[], leaseMs: number, limit: number): Promise<JobRecord[]>;
  /**
   * Extends the lease of every job this worker holds, in one statement; answers the ids it still
   * holds (a job missing from the answer was lost: its lease expired and another worker took it).
   */
  extendLeases(workerId: string, leaseMs: number): Promise<Set<string>>;
  /**
   * Puts jobs this worker holds between runs (see `Worker`) back in the queue, each due at its
   * `runAt`, in one transaction (a worker that stops hands its held jobs on).
   */
  release(workerId: string, jobs: ReadonlyArray<{ readonly jobId: string; readonly runAt: number }>): Promise<void>;
  /** The ids of this worker's held jobs that `wake` asked to run now; clears the requests. */
  takeWoken(workerId: string): Promise<string[]>;
  heartbeat(jobId: string, workerId: string, leaseMs: number): Promise<boolean>;
  complete(jobId: string, workerId: string): Promise<boolean>;
  /** `complete` for several jobs of one worker in one statement; answers how many it completed. */
  completeMany(jobIds: readonly string[], workerId: string): Promise<number>;
  /**
   * Puts the job back to run at `runAt`; `spendAttempt: false` gives the claim's attempt back.
   * With `waitingFor` the job is parked under that name until `wakeOldestWaiting` wakes it
   * (`runAt` is then only a safety net).
   */
  reschedule(jobId: string, workerId: string, runAt: number, options: RescheduleOptions): Promise<boolean>;
  /** Gives up on the job for good. */
  bury(jobId: string, workerId: string, error: string): Promise<boolean>;
  /**
   * Makes a queued job with this key due now (e.g. a poll, when its render finished); a job a
   * worker holds between runs is marked for `takeWoken` instead.
   */
  wake(idempotencyKey: string): Promise<void>;
  /**
   * Makes the job parked longest under `waitingFor` due now and unparks it (so that two wakes wake
   * two jobs, even from two processes at once); false when none is parked there.
   */
  wakeOldestWaiting(waitingFor: string): Promise<boolean>;
  /** When the next queued job of these kinds is due, if any. */
  nextRunAt(kinds: readonly string[]): Promise<number | undefined>;
  findByKey(idempotencyKey: string): Promise<JobRecord | undefined>;
  /** The workers that hold an unexpired lease now (the others are dead or idle). */
  liveLeaseOwners(): Promise<Set<string>>;
  /** How many jobs are queued, running or dead, by kind and state (succeeded ones are not counted). */
  countByKindAndState(): Promise<JobCount[]>;
  /** The due time of the longest-due queued job of each kind that has one due by `at`. */
  oldestDue(at: number): Promise<Array<{ readonly kind: string; readonly runAt: number }>>;
}

/** How `JobQueue.reschedule` puts a job back. */
export interface RescheduleOptions {
  readonly spendAttempt: boolean;
  readonly error?: string;
  /** Parks the job under this name until woken (see `JobQueue.wakeOldestWaiting`). */
  readonly waitingFor?: string;
}

/** A count of jobs of one kind in one state. */
export interface JobCount {
  readonly kind: string;
  readonly state: JobState;
  readonly count: number;
}
