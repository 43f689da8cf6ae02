import { canTransition, type Task, type TaskFailure, type TaskResult } from '../domain/task.js';
import { jobRequest } from '../jobs/job-kinds.js';
import { newDeliveryId } from '../domain/ids.js';
import type { Storage, Stores } from '../storage/storage.js';

/**
 * The one place where tasks reach a terminal state. Each change is a compare-and-set on the
 * previous state and commits together with its callback delivery (the outbox) and the job that
 * sends it, so a terminal state is reached once and its callback is never lost.
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
      if (moved) await this.oweCallback(stores, task, 'task.succeeded');
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
      if (moved) await this.oweCallback(stores, task, 'task.failed');
      return moved;
    });
  }

  /** The outbox entry and its first send, in the transaction of the state change. */
  private async oweCallback(stores: Stores, task: Task, event: 'task.succeeded' | 'task.failed'): Promise<void> {
    if (!task.callbackUrl) return;
    const deliveryId = newDeliveryId();
    await stores.callbacks.add({ id: deliveryId, taskId: task.id, apiKeyId: task.apiKeyId, url: task.callbackUrl, event }, this.now());
    await stores.jobs.enqueue(jobRequest('callback.deliver', { deliveryId, round: 1 }));
  }
}
