import { isTerminal } from '../../domain/task.js';
import { ProviderError } from '../../ports/video-provider.js';
import type { ProviderRegistry } from '../../providers/provider-registry.js';
import type { TaskLifecycle } from '../../services/task-lifecycle.js';
import type { Storage } from '../../storage/storage.js';
import { jobRequest } from '../job-kinds.js';
import type { JobContext, RetryAfter } from '../worker.js';

export interface TaskJobDependencies {
  readonly storage: Storage;
  readonly providers: ProviderRegistry;
  readonly lifecycle: TaskLifecycle;
  /** A task still pending after this long goes to reconciliation (its credits stay held). */
  readonly taskTimeoutMs: number;
}

/** `task.start`: hands the task to its provider, stores the handle and schedules the first poll. */
export async function startTask(deps: TaskJobDependencies, { taskId }: { taskId: string }, context: JobContext): Promise<void> {
  const task = await deps.storage.tasks.findById(taskId);
  if (!task || isTerminal(task.state)) return;
  const provider = deps.providers.get(task.provider);
  if (task.state === 'running' && task.providerHandle !== null) {
    // An earlier attempt started it and crashed before finishing this job: just make sure it is polled.
    await deps.storage.jobs.enqueue(jobRequest('task.poll', { taskId }));
    return;
  }
  if (task.state === 'queued') await deps.lifecycle.markRunning(taskId);
  let handle: unknown;
  try {
    handle = await provider.start(task, { signal: context.signal });
  } catch (error) {
    if (error instanceof ProviderError && !error.isRetryable) {
      await deps.lifecycle.fail(taskId, { stage: 'submission', reason: error.reason, message: error.message });
      return;
    }
    throw error;
  }
  await deps.storage.transaction(async (stores) => {
    await stores.tasks.saveProviderHandle(taskId, handle);
    await stores.jobs.enqueue(jobRequest('task.poll', { taskId }, { runAt: Date.now() + provider.pollDelayMs(0) }));
  });
  context.logger.info({ taskId, provider: provider.name }, 'task started');
}

/** `task.poll`: asks the provider; pending reschedules (no attempt spent), an end settles the task. */
export async function pollTask(
  deps: TaskJobDependencies,
  { taskId }: { taskId: string },
  context: JobContext,
): Promise<RetryAfter | void> {
  const task = await deps.storage.tasks.findById(taskId);
  if (!task || isTerminal(task.state) || task.providerHandle === null) return;
  const provider = deps.providers.get(task.provider);
  const status = await provider.status(task.providerHandle, task, { signal: context.signal });
  switch (status.state) {
    case 'pending': {
      if (status.progress !== undefined) await deps.storage.tasks.saveProgress(taskId, status.progress);
      const elapsed = Date.now() - (task.startedAt ?? task.createdAt);
      if (task.state === 'running' && elapsed > deps.taskTimeoutMs && (await deps.lifecycle.reconcile(taskId))) {
        // Not a failure, not a refund: the provider may still finish (and bill). Keep asking.
        context.logger.warn({ taskId, provider: provider.name, elapsedMs: elapsed }, 'task timed out; reconciling');
      }
      return { retryAfterMs: provider.pollDelayMs(elapsed) };
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
export async function failTaskAfterExhaustion(deps: TaskJobDependencies, { taskId }: { taskId: string }): Promise<void> {
  await deps.lifecycle.fail(taskId, {
    stage: 'generation',
    reason: 'internal',
    message: 'Internal Error, Please try again later.',
  });
}
