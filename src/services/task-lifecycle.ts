import { canTransition, type Task, type TaskFailure, type TaskResult } from '../domain/task.js';
import { jobRequest } from '../jobs/job-kinds.js';
import type { Storage } from '../storage/storage.js';

/**
 * The one place where tasks reach a terminal state. Each change is a compare-and-set on the
 * previous state and commits together with the follow-up jobs (the callback), so a terminal
 * state is reached once and its callback is never lost, whatever retries or crashes happen.
 */
export class TaskLifecycle {
  constructor(
    private readonly storage: Storage,
    private readonly now: () => number = Date.now,
  ) {}

  async markRunning(taskId: string): Promise<boolean> {
    return this.storage.tasks.transition(taskId, 'queued', { to: 'running', at: this.now() });
  }

  async succeed(task: Task, result: TaskResult, engineDetails?: Readonly<Record<string, unknown>>): Promise<boolean> {
    return this.storage.transaction(async (stores) => {
      const moved = await stores.tasks.transition(task.id, 'running', {
        to: 'succeeded',
        at: this.now(),
        progress: 100,
        result,
        ...(engineDetails ? { engineDetails } : {}),
      });
      if (moved && task.callbackUrl) {
        await stores.jobs.enqueue(jobRequest('callback.deliver', { taskId: task.id, event: 'terminal' }));
      }
      return moved;
    });
  }

  /** Fails a queued or running task; false if it had already ended. */
  async fail(taskId: string, failure: TaskFailure): Promise<boolean> {
    return this.storage.transaction(async (stores) => {
      const task = await stores.tasks.findById(taskId);
      if (!task || !canTransition(task.state, 'failed')) return false;
      const stage = task.state === 'queued' ? 'submission' : failure.stage;
      const moved = await stores.tasks.transition(task.id, task.state, {
        to: 'failed',
        at: this.now(),
        failure: { ...failure, stage },
      });
      if (moved && task.callbackUrl) {
        await stores.jobs.enqueue(jobRequest('callback.deliver', { taskId: task.id, event: 'terminal' }));
      }
      return moved;
    });
  }
}
