import { isTerminal, type Task } from '../../domain/task.js';
import { MediaError } from '../../domain/errors.js';
import { pinningDrift, ProviderError, type ProviderStatus } from '../../ports/video-provider.js';
import type { ProviderRegistry } from '../routing/provider-registry.js';
import type { TaskLifecycle } from '../lifecycle/task-lifecycle.js';
import type { Storage } from '../../ports/storage.js';
import { jobRequest, providerSlotKey } from '../../jobs/job-kinds.js';
import type { JobContext, RetryAfter } from '../../jobs/worker.js';
import type { Clock } from '../../ports/clock.js';
import type { TaskPlacement } from '../routing/task-placement.js';
import type { TaskBatchReader } from './task-batch-reader.js';
import { resolveExtensionSource, resolveUpgradeSource, type SourceTools } from './extension-source.js';

export interface TaskJobDependencies {
  readonly storage: Storage;
  readonly providers: ProviderRegistry;
  readonly lifecycle: TaskLifecycle;
  /** A task still pending after this long goes to reconciliation (its credits stay held). */
  readonly taskTimeoutMs: number;
  readonly clock: Clock;
  readonly placement: TaskPlacement;
  /** Resolves an extension's source (and a bridge's last frame) for its provider. */
  readonly sources: SourceTools;
}

/** What a poll needs (no placement, no sources: it only asks and settles). */
export type PollDependencies = Pick<TaskJobDependencies, 'storage' | 'providers' | 'lifecycle' | 'taskTimeoutMs' | 'clock'> & {
  /** Reads the polled task; polls that fall due together share one query. */
  readonly pollReads: TaskBatchReader;
};

/**
 * How long a task parked for a slot on a full entry sleeps if nothing wakes it. A task that ends
 * or leaves `running` on the entry wakes the oldest parked start at once (`TaskLifecycle`,
 * `fallBack`); this is only the safety net for a wake that was lost (e.g. a crash between the
 * two writes, or a slot freed just before the start parked).
 */
const SLOT_SAFETY_POLL_MS = 30_000;

/** How often a task whose entry changed under it is looked at again (the entry may be put back). */
const PINNING_DRIFT_RECHECK_MS = 10 * 60_000;

/** Parks the start job until a slot on `entry` frees (or the safety net fires). */
function waitForSlot(entry: string): RetryAfter {
  return { retryAfterMs: SLOT_SAFETY_POLL_MS + Math.round(Math.random() * 2_000), waitingFor: providerSlotKey(entry) };
}

/**
 * `task.start`: hands the task to its provider entry, stores the handle and schedules the first
 * poll. A task beyond its entry's concurrency or request rate waits queued. On a retryable
 * failure before any upstream accepted it (or while the entry's breaker is open) it moves to the
 * next entry of its route; an extension pinned to one entry has no next entry.
 */
export async function startTask(deps: TaskJobDependencies, { taskId }: { taskId: string }, context: JobContext): Promise<RetryAfter | void> {
  const task = await deps.storage.tasks.findById(taskId);
  if (!task || isTerminal(task.state)) return;
  if (task.providerHandle !== null) {
    // An earlier attempt started it and crashed before finishing this job: just make sure it is polled.
    await deps.storage.jobs.enqueue(jobRequest('task.poll', { taskId }));
    return;
  }
  const provider = deps.providers.get(task.provider);
  const gate = deps.providers.gate(task.provider);
  if (await gate.isOpen()) {
    const fallback = await fallBack(deps, task, context, 'circuit breaker open');
    if (fallback !== 'none') return fallback;
  }
  const slot = { from: task.provider, to: task.provider };
  if (task.state === 'queued' && !(await deps.storage.tasks.claimSlot(taskId, slot, gate.limits.maxConcurrent, deps.clock.now()))) {
    return waitForSlot(task.provider);
  }
  const wait = await gate.waitBeforeRequest();
  if (wait > 0) return { retryAfterMs: wait };
  let handle: unknown;
  try {
    const source =
      task.operation === 'extend' ? await resolveExtensionSource(deps.sources, task, context.workerId, context.signal)
      : task.operation === 'generate' ? undefined
      : await resolveUpgradeSource(deps.sources, task);
    handle = await provider.start({ ...task, state: 'running' }, { signal: context.signal, ...(source ? { source } : {}) });
  } catch (error) {
    if (error instanceof MediaError) {
      await deps.lifecycle.fail(taskId, { stage: 'submission', reason: 'input_unusable', message: error.message });
      return;
    }
    if (!(error instanceof ProviderError)) throw error;
    if (!error.isRetryable) {
      await deps.lifecycle.fail(taskId, { stage: 'submission', reason: error.reason, message: error.message });
      return;
    }
    await gate.recordFailure(error.message);
    // It holds its slot here now (it claimed it above, or on an earlier run).
    const fallback = await fallBack(deps, { ...task, state: 'running' }, context, error.message);
    if (fallback !== 'none') return fallback;
    throw error;
  }
  await gate.recordSuccess();
  const pinned = provider.pinning?.(task.parameters.model);
  await deps.storage.transaction(async (stores) => {
    await stores.tasks.saveProviderHandle(taskId, handle, pinned ? { entry: task.provider, ...pinned } : undefined);
    await stores.jobs.enqueue(jobRequest('task.poll', { taskId }, { runAt: deps.clock.now() + provider.pollDelayMs(0) }));
  });
  context.logger.info({ taskId, provider: provider.name }, 'task started');
}

/**
 * Moves a task no upstream accepted to the next entry of its route that can run it, taking a slot
 * there: run again at once when it moved (a slot it held on its old entry wakes that entry's
 * oldest parked start), park for a slot on the next entry when that one is full (it stays where
 * it is), or `none` at the end of the route.
 */
async function fallBack(deps: TaskJobDependencies, task: Task, context: JobContext, why: string): Promise<RetryAfter | 'none'> {
  const next = deps.placement.nextOnRoute(task);
  if (!next) return 'none';
  const slot = { from: task.provider, to: next };
  if (!(await deps.storage.tasks.claimSlot(task.id, slot, deps.providers.gate(next).limits.maxConcurrent, deps.clock.now()))) return waitForSlot(next);
  context.logger.warn({ taskId: task.id, provider: task.provider, next, why }, 'falling back to the next provider');
  if (task.state === 'running') await deps.storage.jobs.wakeOldestWaiting(providerSlotKey(task.provider));
  return { retryAfterMs: 0 };
}

/**
 * `task.poll`: asks the provider; pending reschedules (no attempt spent), an end settles the
 * task, an upstream output is recorded and handed to `task.ingest`. An upstream that is busy
 * or unreachable (429, 503, network) is asked again later; that is never a failure.
 */
export async function pollTask(
  deps: PollDependencies,
  { taskId }: { taskId: string },
  context: JobContext,
): Promise<RetryAfter | void> {
  const task = await deps.pollReads.find(taskId);
  if (!task || isTerminal(task.state) || task.providerHandle === null || task.upstreamOutput !== null) return;
  const provider = deps.providers.get(task.provider);
  const elapsed = deps.clock.now() - (task.startedAt ?? task.createdAt);
  const drift = task.pinning ? pinningDrift(task.pinning, provider.pinning?.(task.parameters.model)) : undefined;
  if (drift) {
    // Never ask with another account or region than the one that accepted (and bills) the work:
    // the credits stay held until an operator settles the task.
    if (task.state === 'running') await deps.lifecycle.reconcile(taskId);
    context.logger.warn({ taskId, provider: provider.name, why: drift }, 'the entry changed under a pinned task; left for an operator');
    return { retryAfterMs: PINNING_DRIFT_RECHECK_MS };
  }
  let status: ProviderStatus;
  try {
    status = await provider.status(task.providerHandle, task, { signal: context.signal });
  } catch (error) {
    if (!(error instanceof ProviderError && error.isRetryable)) throw error;
    context.logger.warn({ taskId, provider: provider.name, err: error.message }, 'poll failed; asking again later');
    return { retryAfterMs: Math.max(error.retryAfterMs ?? 0, 2 * provider.pollDelayMs(elapsed)) };
  }
  switch (status.state) {
    case 'pending': {
      // Progress only moves forward; a poll that learned nothing new writes nothing.
      if (status.progress !== undefined && Math.round(status.progress) > task.progress) await deps.storage.tasks.saveProgress(taskId, status.progress);
      const timeoutMs = provider.timeoutMs ?? deps.taskTimeoutMs;
      if (task.state === 'running' && elapsed > timeoutMs && (await deps.lifecycle.reconcile(taskId))) {
        // Not a failure, not a refund: the provider may still finish (and bill). Keep asking.
        context.logger.warn({ taskId, provider: provider.name, elapsedMs: elapsed }, 'task timed out; reconciling');
      }
      return { retryAfterMs: provider.pollDelayMs(elapsed) };
    }
    case 'output_ready': {
      await deps.storage.transaction(async (stores) => {
        await stores.tasks.saveUpstreamOutput(taskId, status.output);
        await stores.jobs.enqueue(jobRequest('task.ingest', { taskId }));
      });
      context.logger.info({ taskId, provider: provider.name }, 'upstream finished; taking the video into custody');
      return;
    }
    case 'completed': {
      if (await deps.lifecycle.succeed(task, status.result, status.details)) {
        context.logger.info({ taskId, provider: provider.name }, 'task succeeded');
      }
      return;
    }
    case 'failed': {
      if (status.isRetryable) throw new ProviderError(status.message, true, status.reason);
      await deps.lifecycle.fail(taskId, { stage: 'generation', reason: status.reason, message: status.message });
      context.logger.info({ taskId, provider: provider.name, reason: status.reason }, 'task failed');
    }
  }
}

/** When a task's job gives up for good, the task fails (instead of staying "generating" forever). */
export async function failTaskAfterExhaustion(deps: Pick<TaskJobDependencies, 'lifecycle'>, { taskId }: { taskId: string }): Promise<void> {
  await deps.lifecycle.fail(taskId, {
    stage: 'generation',
    reason: 'internal',
    message: 'the task could not be run: its job failed too many times',
  });
}
