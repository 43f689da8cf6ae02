import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { JobQueue, JobRecord } from '../ports/job-queue.js';
import { allJobKinds, backoffDelay, type JobKind, jobKinds, type JobPayload, MAX_INTERRUPTIONS } from './job-kinds.js';

/** What a handler may answer instead of finishing: run me again later, without spending an attempt. */
export interface RetryAfter {
  readonly retryAfterMs: number;
  /** Park the job under this name: an event wakes it early (`JobQueue.wakeOldestWaiting`); `retryAfterMs` is the safety net. */
  readonly waitingFor?: string;
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
  readonly [K in JobKind]: (payload: JobPayload<K>, context: JobContext) => Promise<RetryAfter | void>;
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
  readonly concurrency: number;
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

function isRetryable(error: unknown): boolean {
  return (error as { isRetryable?: boolean } | null)?.isRetryable === true;
}

/**
 * The job loop: claims due jobs while it has free slots, runs them under a heart-beaten lease,
 * and records each outcome. A crash leaves the lease to expire; another worker then runs the job.
 */
export class Worker {
  readonly id = `worker-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly active = new Map<string, { kind: JobKind; controller: AbortController; done: Promise<void> }>();
  private state: WorkerState = 'stopped';
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();

  private readonly now: () => number;

  constructor(private readonly options: WorkerOptions) {
    this.now = options.now ?? Date.now;
    options.subscribe(() => this.wake?.());
  }

  isRunning(): boolean {
    return this.state === 'active';
  }

  start(): void {
    if (this.state !== 'stopped') return;
    this.state = 'active';
    this.loopDone = this.loop();
  }

  /** Stops claiming, lets running jobs finish for `graceMs`, then aborts and releases the rest. */
  async stop(graceMs: number): Promise<void> {
    if (this.state !== 'active') return;
    this.state = 'stopping';
    this.wake?.();
    await this.loopDone;
    const all = Promise.all([...this.active.values()].map((job) => job.done));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    if ((await Promise.race([all, graceOver])) === 'timeout') {
      for (const job of this.active.values()) job.controller.abort(new Error('worker shutting down'));
      await all;
    }
    clearTimeout(timer);
    this.state = 'stopped';
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

  private claimableKinds(): JobKind[] {
    return (this.options.kinds ?? allJobKinds).filter((kind) => {
      const limit = this.options.kindConcurrency[kind];
      if (limit === undefined) return true;
      let running = 0;
      for (const job of this.active.values()) if (job.kind === kind) running++;
      return running < limit;
    });
  }

  private async fillSlots(): Promise<boolean> {
    let claimedAny = false;
    while (this.state === 'active' && this.active.size < this.options.concurrency) {
      const job = await this.options.queue.claim(this.id, this.claimableKinds(), this.options.leaseMs);
      if (!job) break;
      claimedAny = true;
      this.launch(job);
    }
    return claimedAny;
  }

  private async sleep(): Promise<void> {
    const next = await this.options.queue.nextRunAt(this.claimableKinds()).catch(() => undefined);
    const untilNext = next === undefined ? this.options.pollMs : Math.max(5, next - this.now());
    const delay = Math.min(this.options.pollMs, untilNext);
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

  private launch(job: JobRecord): void {
    const kind = job.kind as JobKind;
    const controller = new AbortController();
    const done = this.execute(job, kind, controller).finally(() => {
      this.active.delete(job.id);
      this.wake?.();
    });
    this.active.set(job.id, { kind, controller, done });
  }

  private async execute(job: JobRecord, kind: JobKind, controller: AbortController): Promise<void> {
    const { queue, leaseMs } = this.options;
    const logger = this.options.logger.child({ jobId: job.id, jobKind: kind, attempt: job.attempts, interruptions: job.interruptions });
    const definition = jobKinds[kind];
    const payload = definition?.payload.safeParse(job.payload);
    if (!definition || !payload?.success) {
      await this.record(() => queue.bury(job.id, this.id, `unknown kind or invalid payload`), logger);
      logger.error('job buried: unknown kind or invalid payload');
      return;
    }
    if (job.interruptions > MAX_INTERRUPTIONS) {
      await this.exhaust(job, kind, payload.data, `its worker died ${job.interruptions} times while running it`, logger);
      return;
    }
    const heartbeat = setInterval(() => {
      queue.heartbeat(job.id, this.id, leaseMs).then(
        (kept) => {
          if (!kept) controller.abort(new Error('lease lost'));
        },
        (error) => logger.warn({ err: error }, 'heartbeat failed'),
      );
    }, Math.max(250, Math.floor(leaseMs / 3)));
    try {
      const handler = this.options.handlers[kind] as (p: unknown, c: JobContext) => Promise<RetryAfter | void>;
      const outcome = await handler(payload.data, { jobId: job.id, workerId: this.id, attempt: job.attempts, signal: controller.signal, logger });
      if (outcome) {
        const parked = outcome.waitingFor === undefined ? {} : { waitingFor: outcome.waitingFor };
        await this.record(() => queue.reschedule(job.id, this.id, this.now() + outcome.retryAfterMs, { spendAttempt: false, ...parked }), logger);
      } else {
        await this.record(() => queue.complete(job.id, this.id), logger);
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (controller.signal.aborted && this.state === 'stopping') {
        // Released, not failed: the next worker runs it again without losing an attempt.
        await this.record(() => queue.reschedule(job.id, this.id, this.now(), { spendAttempt: false, error: message }), logger);
        logger.info('job released on shutdown');
      } else if (isPermanent(error) || job.attempts >= job.maxAttempts) {
        await this.exhaust(job, kind, payload.data, message, logger);
      } else {
        const delay = backoffDelay(kind, job.attempts);
        await this.record(() => queue.reschedule(job.id, this.id, this.now() + delay, { spendAttempt: true, error: message }), logger);
        logger.warn({ err: error, retryInMs: delay }, 'job failed; will retry');
      }
    } finally {
      clearInterval(heartbeat);
    }
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
