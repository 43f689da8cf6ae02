import type { TaskState } from '../domain/task.js';
import type { GateReport } from '../engine/routing/provider-gate.js';
import { allJobKinds } from '../jobs/job-kinds.js';
import type { JobState } from '../ports/job-queue.js';
import type { Storage } from '../ports/storage.js';

/** The job states counted (succeeded jobs only grow, and are not a queue). */
const COUNTED_JOB_STATES: readonly JobState[] = ['queued', 'running', 'dead'];
/** The task states counted: the unfinished ones (the finished only grow; counting them would scan every task). */
const COUNTED_TASK_STATES: readonly TaskState[] = ['queued', 'running', 'reconciling'];

/** One provider entry as the metrics show it. */
export interface ProviderMetrics {
  readonly entry: string;
  readonly breaker: GateReport['breaker'];
  readonly consecutiveFailures: number;
  /** Tasks running on the entry now (each holds one of its slots). */
  readonly slotsInUse: number;
  readonly maxConcurrent: number;
}

/**
 * What `/metrics` reports, read from the database (so every API process reports the same
 * figures), except the uptime, which is this process's. Every known job kind, task state and
 * provider entry appears, with 0 when there is nothing, so that no series vanishes.
 */
export interface MetricsSnapshot {
  readonly jobs: ReadonlyArray<{ readonly kind: string; readonly state: JobState; readonly count: number }>;
  /** Per job kind: how long the longest-due queued job has been due (0 when none is). */
  readonly oldestDueSeconds: ReadonlyArray<{ readonly kind: string; readonly seconds: number }>;
  readonly tasks: ReadonlyArray<{ readonly state: TaskState; readonly provider: string; readonly count: number }>;
  readonly providers: readonly ProviderMetrics[];
  readonly callbackDeliveries: { readonly pending: number; readonly exhausted: number };
  readonly uptimeSeconds: number;
}

/** Gathers the operational figures of the whole installation for `/metrics`. */
export class MetricsService {
  constructor(
    private readonly storage: Storage,
    /** Each provider entry's breaker and limits, as the database holds them. */
    private readonly providerReport: () => Promise<Record<string, GateReport>>,
    /** Seconds since this process started. */
    private readonly uptimeSeconds: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  async snapshot(): Promise<MetricsSnapshot> {
    const now = this.now();
    const [jobCounts, due, taskCounts, report, deliveries] = await Promise.all([
      this.storage.jobs.countByKindAndState(),
      this.storage.jobs.oldestDue(now),
      this.storage.tasks.countUnfinishedByProvider(),
      this.providerReport(),
      this.storage.callbacks.countByState(['pending', 'exhausted']),
    ]);
    const kinds = [...new Set([...allJobKinds, ...jobCounts.map((count) => count.kind)])];
    const entries = [...new Set([...Object.keys(report), ...taskCounts.map((count) => count.provider)])];
    const countOf = <T extends { readonly count: number }>(rows: readonly T[], match: (row: T) => boolean) => rows.find(match)?.count ?? 0;
    return {
      jobs: kinds.flatMap((kind) => COUNTED_JOB_STATES.map((state) => ({ kind, state, count: countOf(jobCounts, (row) => row.kind === kind && row.state === state) }))),
      oldestDueSeconds: kinds.map((kind) => {
        const runAt = due.find((row) => row.kind === kind)?.runAt;
        return { kind, seconds: runAt === undefined ? 0 : Math.max(0, now - runAt) / 1000 };
      }),
      tasks: entries.flatMap((provider) =>
        COUNTED_TASK_STATES.map((state) => ({ state, provider, count: countOf(taskCounts, (row) => row.provider === provider && row.state === state) })),
      ),
      providers: Object.entries(report).map(([entry, gate]) => ({
        entry,
        breaker: gate.breaker,
        consecutiveFailures: gate.consecutiveFailures,
        slotsInUse: countOf(taskCounts, (row) => row.provider === entry && row.state === 'running'),
        maxConcurrent: gate.maxConcurrent,
      })),
      callbackDeliveries: { pending: deliveries['pending'] ?? 0, exhausted: deliveries['exhausted'] ?? 0 },
      uptimeSeconds: this.uptimeSeconds(),
    };
  }
}
