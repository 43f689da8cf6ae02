import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { JobQueue, JobRecord } from '../ports/job-queue.js';
import { allJobKinds, backoffDelay, type JobKind, jobKinds, type JobPayload, MAX_HOLD_MS, MAX_INTERRUPTIONS } from './job-kinds.js';
import { TimerWheel } from './timer-wheel.js';

/** What a handler may answer instead of finishing: run me again later, without spending an attempt. */
export interface RetryAfter {
  readonly retryAfterMs: number;
  /** Park the job under this name: an event wakes it early (`JobQueue.wakeOldestWaiting`); `retryAfterMs` is the safety net. */
  readonly waitingFor?: string;
}

/**
 * What a handler answers when it writes its job's outcome itself, with its own work (callback
 * attempts ending together complete their jobs in one statement): its place is free at once, for
 * the next job, while `outcomeWritten` settles; the worker writes nothing more. If it rejects,
 * the job goes on as if the handler had thrown (tried again later). A stopping worker waits for it.
 */
export interface OutcomeBeingWritten {
  readonly outcomeWritten: Promise<void>;
}

export interface JobContext {
  readonly jobId: string;
  /** The worker running the job: it owns the job's scratch directories while its lease lives. */
  readonly workerId: string;
  readonly attempt: number;
  /** Aborted when the lease is lost or the worker shuts down; pass it to every slow call. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

export type JobHandlers = {
  readonly [K in JobKind]: (payload: JobPayload<K>, context: JobContext) => Promise<RetryAfter | OutcomeBeingWritten | void>;
};

/** Called once when a job will not be tried again, so its task never stays stuck. */
export type ExhaustedHandlers = {
  readonly [K in JobKind]?: (payload: JobPayload<K>, lastError: string) => Promise<void>;
};

export interface WorkerOptions {
  readonly queue: JobQueue;
  readonly handlers: JobHandlers;
  readonly onExhausted: ExhaustedHandlers;
  /** The kinds this worker claims (a process may run some kinds only); every kind when absent. */
  readonly kinds?: readonly JobKind[];
  /** Places for jobs other than polls. */
  readonly concurrency: number;
  /**
   * Places for polls (`heldBetweenRuns` kinds), apart from the others: a poll mostly waits on
   * its upstream's answer, so thousands in flight need many at once (10,000 tasks polled every
   * 15 s against a 200-ms upstream keep ~130 running), and they must never wait behind renders.
   */
  readonly pollConcurrency: number;
  /** Per-kind limits inside this process (e.g. one ffmpeg render at a time on two cores). */
  readonly kindConcurrency: Partial<Record<JobKind, number>>;
  readonly leaseMs: number;
  readonly pollMs: number;
  /** The time jobs fall due by (the queue's clock); sleeping and leases stay on real time. */
  readonly now?: () => number;
  readonly logger: Logger;
  /** Subscribes to in-process "a job is due" signals. */
  readonly subscribe: (listener: () => void) => void;
}

/**
 * Where the worker is in its life (as pg-boss names them): `stopped` (new, or after stop),
 * `active` (claiming), `stopping` (no new claims; running jobs finish or are released).
 */
export type WorkerState = 'stopped' | 'active' | 'stopping';

/** An error a handler throws to say "do not retry": the job is buried at once. */
export function isPermanent(error: unknown): boolean {
  return (error as { isRetryable?: boolean } | null)?.isRetryable === false;
}

/** Whether a kind's jobs are polls: held between runs, in places of their own (`pollConcurrency`). */
function isPoll(kind: JobKind): boolean {
  return 'heldBetweenRuns' in jobKinds[kind];
}

/**
 * The most jobs this worker takes in hand from its own process's transactions (`adopt`) while
 * they wait for a place: beyond, they go to the table for any worker. Each waits on this worker
 * alone; a crash leaves them to the others once their leases expire.
 */
const MAX_ADOPTED_WAITING = 1_000;

/** The lease a transaction writes on a new job for this worker to run at once after its commit (see `Worker.adopt`). */
export interface AdoptionLease {
  readonly workerId: string;
  readonly leaseMs: number;
}

function isRetryable(error: unknown): boolean {
  return (error as { isRetryable?: boolean } | null)?.isRetryable === true;
}

/**
 * The job loop: claims due jobs while it has free slots, runs them under a heart-beaten lease,
 * and records each outcome. A crash leaves the lease to expire; another worker then runs the job.
 */
export class Worker {
  readonly id = `worker-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly active = new Map<string, { kind: JobKind; controller: AbortController; done: Promise<void>; claim: number }>();
  /**
   * Jobs this worker holds between runs (polls waiting for their next turn): still leased in the
   * table, so a crash hands them to another worker, but run again from here without a write.
   */
  private readonly held = new TimerWheel<{ job: JobRecord; claim: number }>();
  /**
   * Jobs written leased to this worker by this process's own transactions (`adopt`), waiting
   * for an ordinary place: they run before any claim from the table.
   */
  private readonly adopted: Array<{ job: JobRecord; claim: number }> = [];
  /** Jobs whose places are free while their handlers' outcomes are being written (`OutcomeBeingWritten`). */
  private readonly beingWritten = new Set<Promise<void>>();
  /** Adopted jobs being handed back to the queue (adopted by a worker no longer running). */
  private readonly handingBack = new Set<Promise<void>>();
  /** Running jobs that `wake` asked to run again as soon as they end. */
  private readonly wokenWhileRunning = new Set<string>();
  private claims = 0;
  /** How many of `active` are polls (they take poll places, the rest ordinary ones). */
  private runningPolls = 0;
  private state: WorkerState = 'stopped';
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private leaseKeeper: NodeJS.Timeout | undefined;
  private wokenCheck: Promise<void> | null = null;
  private wokenAgain = false;
  private wokenCheckedAt = 0;
  /**
   * When the table may next hold a job this worker can claim (the queue's clock): a claim round
   * that found nothing sets it from `nextRunAt` (at most `pollMs` ahead); a signal (a job enqueued
   * or rescheduled) and a freed per-kind place set it back to 0. Until then the table is not asked,
   * so held polls ending one after another cost no statement each.
   */
  private tableCheckAt = 0;

  private readonly now: () => number;

  constructor(private readonly options: WorkerOptions) {
    this.now = options.now ?? Date.now;
    options.subscribe(() => {
      this.tableCheckAt = 0;
      this.wake?.();
      if (this.holdsAny()) this.checkWoken();
    });
  }

  isRunning(): boolean {
    return this.state === 'active';
  }

  /** Whether this worker holds or runs a job that `wake` may ask to run again (see `heldBetweenRuns`). */
  private holdsAny(): boolean {
    if (this.held.size > 0) return true;
    return this.runningPolls > 0;
  }

  /** How many jobs this worker holds between runs (a figure for benchmarks and metrics). */
  heldJobs(): number {
    return this.held.size;
  }

  start(): void {
    if (this.state !== 'stopped') return;
    this.state = 'active';
    // A third of a lease, within what a Node timer can wait (about 24.8 days).
    this.leaseKeeper = setInterval(() => void this.keepLeases(), Math.min(2 ** 31 - 1, Math.max(250, Math.floor(this.options.leaseMs / 3))));
    this.loopDone = this.loop();
  }

  /** Stops claiming, lets running jobs finish for `graceMs`, then aborts and releases the rest. */
  async stop(graceMs: number): Promise<void> {
    if (this.state !== 'active') return;
    this.state = 'stopping';
    this.wake?.();
    await this.loopDone;
    await this.releaseAdopted(this.adopted.splice(0));
    const all = Promise.all([...this.active.values()].map((job) => job.done));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    if ((await Promise.race([all, graceOver])) === 'timeout') {
      for (const job of this.active.values()) job.controller.abort(new Error('worker shutting down'));
      await all;
    }
    clearTimeout(timer);
    // The jobs that ran meanwhile may have adopted new ones, handed back at once.
    await Promise.all([...this.beingWritten, ...this.handingBack]);
    await this.releaseHeld();
    clearInterval(this.leaseKeeper);
    this.state = 'stopped';
  }

  /**
   * The lease for a new job of `kind` that this worker will run as soon as the transaction
   * writing it commits (`adopt`), saving the claim; undefined when it takes none now (not
   * running, not its kind, a kind with places of its own, or enough waiting already).
   */
  leaseForAdoption(kind: JobKind): AdoptionLease | undefined {
    if (this.state !== 'active' || isPoll(kind) || this.options.kindConcurrency[kind] !== undefined) return undefined;
    if (!(this.options.kinds ?? allJobKinds).includes(kind) || this.adopted.length >= MAX_ADOPTED_WAITING) return undefined;
    return { workerId: this.id, leaseMs: this.options.leaseMs };
  }

  /**
   * Runs a job that a committed transaction of this process wrote leased to this worker (see
   * `leaseForAdoption`), in the next free ordinary place. A worker no longer running hands it
   * back to the queue at once; false then.
   */
  adopt(job: JobRecord): boolean {
    if (this.state !== 'active') {
      const handedBack = this.releaseAdopted([{ job }]).finally(() => this.handingBack.delete(handedBack));
      this.handingBack.add(handedBack);
      return false;
    }
    this.adopted.push({ job, claim: ++this.claims });
    this.runAdopted();
    return true;
  }

  /**
   * Launches adopted jobs into the free ordinary places at once. They need no statement, so they
   * never wait for the loop, which may itself be waiting on a claim queued behind the database's
   * other work (a thousand tasks ending at once); what finds no place waits for the next one freed.
   */
  private runAdopted(): void {
    while (this.state === 'active' && this.adopted.length > 0 && this.freePlaces() > 0) {
      const { job, claim } = this.adopted.shift()!;
      if (!this.active.has(job.id)) this.launch(job, claim);
    }
  }

  /** Hands adopted jobs that never ran back to the queue, due now. */
  private async releaseAdopted(jobs: ReadonlyArray<{ job: JobRecord }>): Promise<void> {
    if (jobs.length === 0) return;
    const now = this.now();
    await this.record(() => this.options.queue.release(this.id, jobs.map(({ job }) => ({ jobId: job.id, runAt: now }))), this.options.logger);
  }

  /** Hands every held job back to the queue, due when this worker would have run it. */
  private async releaseHeld(): Promise<void> {
    const jobs = [...this.held.entries()].map(([jobId, , runAt]) => ({ jobId, runAt }));
    for (const { jobId } of jobs) this.held.delete(jobId);
    await this.record(() => this.options.queue.release(this.id, jobs), this.options.logger);
  }

  /**
   * One statement extends the lease of every job this worker runs or holds; a job missing from
   * its answer was taken over (this worker stalled past its lease): running, it is aborted; held,
   * it is forgotten. Jobs claimed while the statement ran are not judged by it.
   */
  private async keepLeases(): Promise<void> {
    if (this.active.size === 0 && this.held.size === 0 && this.adopted.length === 0 && this.beingWritten.size === 0) return;
    const claimsBefore = this.claims;
    let kept: Set<string>;
    try {
      kept = await this.options.queue.extendLeases(this.id, this.options.leaseMs);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not extend the leases; trying again');
      return;
    }
    for (const [jobId, job] of this.active) {
      if (job.claim <= claimsBefore && !kept.has(jobId)) job.controller.abort(new Error('lease lost'));
    }
    for (const [jobId, { claim }] of [...this.held.entries()].map(([id, item]) => [id, item] as const)) {
      if (claim <= claimsBefore && !kept.has(jobId)) this.held.delete(jobId);
    }
    for (let index = this.adopted.length - 1; index >= 0; index--) {
      const { job, claim } = this.adopted[index]!;
      if (claim <= claimsBefore && !kept.has(job.id)) this.adopted.splice(index, 1);
    }
  }

  /** Asks the queue which of this worker's jobs were woken (coalesced: one question at a time). */
  private checkWoken(): void {
    if (this.wokenCheck) {
      this.wokenAgain = true;
      return;
    }
    this.wokenCheckedAt = Date.now();
    this.wokenCheck = (async () => {
      do {
        this.wokenAgain = false;
        const ids = await this.options.queue.takeWoken(this.id).catch(() => [] as string[]);
        for (const id of ids) {
          const item = this.held.delete(id);
          if (item) this.held.add(id, item, this.now());
          else if (this.active.has(id)) this.wokenWhileRunning.add(id);
        }
        if (ids.length > 0) this.wake?.();
      } while (this.wokenAgain);
    })().finally(() => (this.wokenCheck = null));
  }

  private async loop(): Promise<void> {
    while (this.state === 'active') {
      try {
        const claimedAny = await this.fillSlots();
        if (!claimedAny) await this.sleep();
      } catch (error) {
        this.options.logger.error({ err: error }, 'worker loop error');
        await this.sleep();
      }
    }
  }

  private hasRoom(kind: JobKind): boolean {
    const limit = this.options.kindConcurrency[kind];
    if (limit === undefined) return true;
    let running = 0;
    for (const job of this.active.values()) if (job.kind === kind) running++;
    return running < limit;
  }

  /** Free ordinary places (for every kind but polls) for jobs already in hand (adopted). */
  private freePlaces(): number {
    return this.options.concurrency - (this.active.size - this.runningPolls);
  }

  /**
   * Free ordinary places for claims from the table: a job whose outcome is still being written
   * counts as running, so that outcomes committing one by one do not each bring a claim of one job.
   */
  private freePlacesToClaim(): number {
    return this.freePlaces() - this.beingWritten.size;
  }

  /** Free poll places. */
  private freePollPlaces(): number {
    return this.options.pollConcurrency - this.runningPolls;
  }

  /**
   * Fills free places: held polls that are due first (no database round trip), then kinds with a
   * per-process limit one claim at a time, then the rest in a batched claim for each kind of place.
   */
  private async fillSlots(): Promise<boolean> {
    let claimedAny = false;
    // Adopted jobs are not looked for here: they take an ordinary place the moment one is free (`runAdopted`).
    while (this.state === 'active' && (this.freePlacesToClaim() > 0 || this.freePollPlaces() > 0)) {
      const due = this.held.takeDue(this.now(), this.freePollPlaces());
      for (const { job, claim } of due) this.launch(job, claim);
      if (due.length > 0) {
        claimedAny = true;
        continue;
      }
      if (this.now() < this.tableCheckAt) break;
      const kinds = this.options.kinds ?? allJobKinds;
      let claimed = 0;
      for (const kind of kinds) {
        if (this.options.kindConcurrency[kind] === undefined || !this.hasRoom(kind) || this.freePlacesToClaim() <= 0) continue;
        const job = await this.options.queue.claim(this.id, [kind], this.options.leaseMs);
        if (job) {
          this.launchClaimed(job);
          claimed++;
        }
      }
      const unlimited = kinds.filter((kind) => this.options.kindConcurrency[kind] === undefined);
      for (const [group, free] of [
        [unlimited.filter((kind) => !isPoll(kind)), this.freePlacesToClaim()],
        [unlimited.filter(isPoll), this.freePollPlaces()],
      ] as const) {
        if (group.length === 0 || free <= 0 || this.state !== 'active') continue;
        const jobs = await this.options.queue.claimBatch(this.id, group, this.options.leaseMs, free);
        for (const job of jobs) this.launchClaimed(job);
        claimed += jobs.length;
      }
      if (claimed === 0) {
        this.tableCheckAt = await this.nextTableCheck();
        break;
      }
      claimedAny = true;
    }
    return claimedAny;
  }

  /** When to ask the table again: its next due job of a kind with room, at most `pollMs` from now. */
  private async nextTableCheck(): Promise<number> {
    const kinds = (this.options.kinds ?? allJobKinds).filter((kind) => this.hasRoom(kind));
    const next = await this.options.queue.nextRunAt(kinds).catch(() => undefined);
    const latest = this.now() + this.options.pollMs;
    return next === undefined ? latest : Math.min(next, latest);
  }

  private async sleep(): Promise<void> {
    const heldNext = this.held.nextDueAt() ?? Infinity;
    const delay = Math.min(this.options.pollMs, Math.max(5, Math.min(this.tableCheckAt, heldNext) - this.now()));
    // Other processes on a database without notifications wake held jobs through the table alone.
    if (this.held.size > 0 && Date.now() - this.wokenCheckedAt >= this.options.pollMs) this.checkWoken();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delay);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = null;
  }

  /**
   * A job fresh from the table. If this worker held or ran it already, its lease had lapsed by
   * the queue's clock and the claim took it over again: one copy runs, the held one is dropped.
   */
  private launchClaimed(job: JobRecord): void {
    this.held.delete(job.id);
    if (!this.active.has(job.id)) this.launch(job);
  }

  private launch(job: JobRecord, claim = ++this.claims): void {
    const kind = job.kind as JobKind;
    const controller = new AbortController();
    const entry = { kind, controller, done: Promise.resolve(), claim };
    this.active.set(job.id, entry);
    const poll = isPoll(kind);
    if (poll) this.runningPolls++;
    let placeFreed = false;
    const freePlace = () => {
      if (placeFreed) return;
      placeFreed = true;
      this.active.delete(job.id);
      if (poll) this.runningPolls--;
      this.wokenWhileRunning.delete(job.id);
      // A freed place of a limited kind (a render): its queued jobs were not looked for while it was full.
      if (this.options.kindConcurrency[kind] !== undefined) this.tableCheckAt = 0;
      // An ordinary place freed goes to the next adopted job at once, the loop may be waiting on a claim.
      if (!poll) this.runAdopted();
    };
    const done = this.execute(job, kind, controller, claim, () => {
      // The outcome is being written: the place goes to the next adopted job (claims wait for
      // the write), a stopping worker waits for the write.
      this.beingWritten.add(done);
      freePlace();
    }).finally(() => {
      freePlace();
      // Written: its place counts as free for claims again.
      this.beingWritten.delete(done);
      this.wake?.();
    });
    entry.done = done;
  }

  private async execute(job: JobRecord, kind: JobKind, controller: AbortController, claim: number, outcomeBeingWritten: () => void): Promise<void> {
    const { queue } = this.options;
    let jobLogger: Logger | undefined;
    // Made only when something is logged: most runs (a poll that answers "pending") log nothing.
    const logger = () => (jobLogger ??= this.options.logger.child({ jobId: job.id, jobKind: kind, attempt: job.attempts, interruptions: job.interruptions }));
    const definition = jobKinds[kind];
    const payload = definition?.payload.safeParse(job.payload);
    if (!definition || !payload?.success) {
      await this.record(() => queue.bury(job.id, this.id, `unknown kind or invalid payload`), logger());
      logger().error('job buried: unknown kind or invalid payload');
      return;
    }
    if (job.interruptions > MAX_INTERRUPTIONS) {
      await this.exhaust(job, kind, payload.data, `its worker died ${job.interruptions} times while running it`, logger());
      return;
    }
    try {
      const handler = this.options.handlers[kind] as (p: unknown, c: JobContext) => Promise<RetryAfter | OutcomeBeingWritten | void>;
      const context: JobContext = {
        jobId: job.id,
        workerId: this.id,
        attempt: job.attempts,
        signal: controller.signal,
        get logger() {
          return logger();
        },
      };
      const outcome = await handler(payload.data, context);
      if (outcome && 'outcomeWritten' in outcome) {
        // Written by the handler, with its own work; its place is free meanwhile.
        outcomeBeingWritten();
        await outcome.outcomeWritten;
      } else if (outcome && this.mayHold(kind, outcome)) {
        const dueAt = this.wokenWhileRunning.has(job.id) ? this.now() : this.now() + outcome.retryAfterMs;
        this.held.add(job.id, { job, claim }, dueAt);
      } else if (outcome) {
        const parked = outcome.waitingFor === undefined ? {} : { waitingFor: outcome.waitingFor };
        await this.record(() => queue.reschedule(job.id, this.id, this.now() + outcome.retryAfterMs, { spendAttempt: false, ...parked }), logger());
      } else {
        await this.record(() => queue.complete(job.id, this.id), logger());
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (controller.signal.aborted && this.state === 'stopping') {
        // Released, not failed: the next worker runs it again without losing an attempt.
        await this.record(() => queue.reschedule(job.id, this.id, this.now(), { spendAttempt: false, error: message }), logger());
        logger().info('job released on shutdown');
      } else if (isPermanent(error) || job.attempts >= job.maxAttempts) {
        await this.exhaust(job, kind, payload.data, message, logger());
      } else {
        const delay = backoffDelay(kind, job.attempts);
        await this.record(() => queue.reschedule(job.id, this.id, this.now() + delay, { spendAttempt: true, error: message }), logger());
        logger().warn({ err: error, retryInMs: delay }, 'job failed; will retry');
      }
    }
  }

  /**
   * Whether a job that asked to run again later stays with this worker until then (in its timer
   * wheel, no write) instead of going back to the table: kinds that say so (polls), for a short
   * wait, not parked on an event, while the worker is running and its lease is still its own.
   */
  private mayHold(kind: JobKind, outcome: RetryAfter): boolean {
    return (
      isPoll(kind) &&
      outcome.waitingFor === undefined &&
      outcome.retryAfterMs <= MAX_HOLD_MS &&
      this.state === 'active'
    );
  }

  /** The task-side effect first (idempotent), then the burial: a crash in between just repeats it. */
  private async exhaust(job: JobRecord, kind: JobKind, payload: unknown, error: string, logger: Logger): Promise<void> {
    const onExhausted = this.options.onExhausted[kind] as ((p: unknown, e: string) => Promise<void>) | undefined;
    try {
      await onExhausted?.(payload, error);
    } catch (failure) {
      logger.error({ err: failure }, 'exhausted handler failed; the job stays leased and is tried again');
      return;
    }
    await this.record(() => this.options.queue.bury(job.id, this.id, error), logger);
    logger.error({ error }, 'job gave up');
  }

  /**
   * Writes a job's outcome. A database that is briefly away (a retryable error) is asked again
   * for as long as a lease lasts, the heartbeat keeping the job ours; if it stays away the outcome
   * is lost, the lease expires and the job runs again (handlers are idempotent). Never throws: an
   * outcome that cannot be written must not end the process.
   */
  private async record(write: () => Promise<unknown>, logger: Logger): Promise<void> {
    const deadline = Date.now() + this.options.leaseMs;
    for (let pauseMs = 50; ; pauseMs = Math.min(2 * pauseMs, 2000)) {
      try {
        await write();
        return;
      } catch (error) {
        if (!isRetryable(error) || Date.now() + pauseMs > deadline) {
          logger.error({ err: error }, 'could not record the job outcome; the job runs again when its lease expires');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
  }
}
