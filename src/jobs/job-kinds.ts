import { z } from 'zod';
import type { EnqueueRequest } from '../ports/job-queue.js';

const taskPayload = z.object({ taskId: z.string().min(1) });

/**
 * Every job kind Segue runs, with its payload schema, attempt budget and retry backoff.
 * A payload is checked against its schema when it is enqueued and again when it is claimed.
 */
export const jobKinds = {
  /** Hands a queued task to its provider and schedules the first poll. */
  'task.start': { payload: taskPayload, maxAttempts: 5, backoffMs: [2_000, 60_000] },
  /** Asks the provider how a started task is doing; reschedules itself while it is pending. */
  'task.poll': { payload: taskPayload, maxAttempts: 8, backoffMs: [2_000, 120_000], heldBetweenRuns: true },
  /** Downloads a finished upstream video into Segue's storage, probes it and succeeds the task. */
  'task.ingest': { payload: taskPayload, maxAttempts: 8, backoffMs: [2_000, 300_000] },
  /** The local engine's own work: renders a task's video with ffmpeg. */
  'local.render': { payload: taskPayload, maxAttempts: 3, backoffMs: [2_000, 30_000] },
  /**
   * Makes the attempts of one round of a callback delivery. The retry schedule lives in the
   * delivery (each attempt answers "retry after"); job attempts only count crashes and errors.
   */
  'callback.deliver': {
    payload: z.object({ deliveryId: z.string().min(1), round: z.number().int().positive() }),
    maxAttempts: 10,
    backoffMs: [1_000, 60_000],
  },
  /** Forgets what has expired in the database (idempotency keys); runs again every few minutes, for ever. */
  'maintenance.sweep': { payload: z.object({}), maxAttempts: 1000, backoffMs: [10_000, 600_000] },
} as const;

export type JobKind = keyof typeof jobKinds;

/**
 * How many times a job may be taken over from a dead worker before it is given up. Far above any
 * attempt budget: a crash is not the job's fault, but a job that kills its worker every time
 * (say, a video that makes ffmpeg exhaust memory) must still end.
 */
export const MAX_INTERRUPTIONS = 20;

/**
 * The longest wait a worker holds a `heldBetweenRuns` job for in memory (its timer wheel) before
 * it hands the job back to the table instead: longer waits are not worth a lease kept alive.
 */
export const MAX_HOLD_MS = 10 * 60 * 1000;
export type JobPayload<K extends JobKind> = z.infer<(typeof jobKinds)[K]['payload']>;

export const allJobKinds = Object.keys(jobKinds) as JobKind[];

/** Builds a validated enqueue request; one job per task and kind unless a key is given. */
export function jobRequest<K extends JobKind>(
  kind: K,
  payload: JobPayload<K>,
  options: { runAt?: number; idempotencyKey?: string } = {},
): EnqueueRequest {
  const definition = jobKinds[kind];
  const parsed = definition.payload.parse(payload);
  return {
    kind,
    payload: parsed,
    maxAttempts: definition.maxAttempts,
    idempotencyKey: options.idempotencyKey ?? `${kind}:${Object.values(parsed).join(':')}`,
    ...(options.runAt !== undefined ? { runAt: options.runAt } : {}),
  };
}

/** The idempotency key of a task's job of this kind (used to wake a poll early). */
export function taskJobKey(kind: 'task.start' | 'task.poll' | 'task.ingest' | 'local.render', taskId: string): string {
  return `${kind}:${taskId}`;
}

/** The name under which `task.start` jobs wait for a free slot on a provider entry (see `JobQueue.wakeOldestWaiting`). */
export function providerSlotKey(entry: string): string {
  return `provider-slot:${entry}`;
}

/** Exponential backoff with jitter: half fixed, half random, so retries of many jobs spread out. */
export function backoffDelay(kind: JobKind, attempt: number, random: () => number = Math.random): number {
  const [base, max] = jobKinds[kind].backoffMs;
  const exponential = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}
