import { canTransition, type Task, type TaskFailure, type TaskResult } from '../../domain/task.js';
import { jobRequest, providerSlotKey } from '../../jobs/job-kinds.js';
import { InvalidStateError, NotFoundError } from '../../domain/errors.js';
import { newDeliveryId } from '../../domain/ids.js';
import type { FirstAttempts } from '../../ports/first-attempts.js';
import type { Storage, Stores } from '../../ports/storage.js';

/** The plain way: a job any worker claims. */
const queuedForAnyWorker: FirstAttempts = {
  async queue(stores, deliveryId) {
    await stores.jobs.enqueue(jobRequest('callback.deliver', { deliveryId, round: 1 }));
    return undefined;
  },
};

/**
 * The one place where tasks reach a terminal state. Each change is a compare-and-set on the
 * previous state and commits together with the settlement of its credits (capture or release)
 * and its callback delivery (the outbox), so money moves exactly once and no callback is lost,
 * whatever retries, crashes or concurrent workers do.
 */
export class TaskLifecycle {
  private firstAttempts: FirstAttempts = queuedForAnyWorker;

  constructor(
    private readonly storage: Storage,
    private readonly now: () => number = Date.now,
  ) {}

  /** A worker of this process sends the first attempts of the callbacks owed from here on (see `FirstAttempts`). */
  queueFirstAttemptsThrough(firstAttempts: FirstAttempts): void {
    this.firstAttempts = firstAttempts;
  }

  /** Running too long without a final answer: keep the hold, keep polling, let clients see it generating. */
  async reconcile(taskId: string): Promise<boolean> {
    const task = await this.storage.tasks.findById(taskId);
    if (!task || !(await this.storage.tasks.transition(taskId, 'running', { to: 'reconciling', at: this.now() }))) return false;
    await this.freedSlot(task.provider);
    return true;
  }

  /** Succeeds a running (or reconciling) task and captures its hold. */
  async succeed(task: Task, result: TaskResult, engineDetails?: Readonly<Record<string, unknown>>): Promise<boolean> {
    let afterCommit: (() => void) | undefined;
    const left = await this.storage.transaction(async (stores) => {
      afterCommit = undefined;
      const current = await stores.tasks.findById(task.id);
      if (!current || !canTransition(current.state, 'succeeded')) return undefined;
      const moved = await stores.tasks.transition(task.id, current.state, {
        to: 'succeeded',
        at: this.now(),
        progress: 100,
        result,
        ...(engineDetails ? { engineDetails } : {}),
      });
      if (!moved) return undefined;
      await this.settle(stores, current, 'capture');
      afterCommit = await this.oweCallback(stores, task, 'task.succeeded');
      return current;
    });
    afterCommit?.();
    if (left?.state === 'running') await this.freedSlot(left.provider);
    return left !== undefined;
  }

  /**
   * Fails an unfinished task; false if it had already ended. Its hold is released, unless an
   * operator settles a reconciling task as charged (the provider billed it).
   */
  async fail(taskId: string, failure: TaskFailure, settlement: 'release' | 'capture' = 'release'): Promise<boolean> {
    let afterCommit: (() => void) | undefined;
    const left = await this.storage.transaction(async (stores) => {
      afterCommit = undefined;
      const task = await stores.tasks.findById(taskId);
      if (!task || !canTransition(task.state, 'failed')) return undefined;
      const stage = task.state === 'queued' ? 'submission' : failure.stage;
      const moved = await stores.tasks.transition(task.id, task.state, {
        to: 'failed',
        at: this.now(),
        failure: { ...failure, stage },
      });
      if (!moved) return undefined;
      await this.settle(stores, task, settlement);
      afterCommit = await this.oweCallback(stores, task, 'task.failed');
      return task;
    });
    afterCommit?.();
    if (left?.state === 'running') await this.freedSlot(left.provider);
    return left !== undefined;
  }

  /**
   * An operator's settlement of a task stuck in reconciliation: `refund` releases its credits,
   * `charge` keeps them (the provider billed it). Either way the task ends failed.
   */
  async settleReconciling(taskId: string, how: 'refund' | 'charge'): Promise<boolean> {
    const task = await this.storage.tasks.findById(taskId);
    if (!task) throw new NotFoundError('no such task');
    if (task.state !== 'reconciling') throw new InvalidStateError(`the task is ${task.state}, not reconciling`);
    return this.fail(
      taskId,
      { stage: 'generation', reason: 'timeout', message: 'the task timed out and an operator settled it' },
      how === 'refund' ? 'release' : 'capture',
    );
  }

  /**
   * A task left `running` on `entry`, so a slot there is free: the start parked longest for one
   * runs now. Written after the state change commits; a wake lost to a crash in between leaves
   * the parked start to its safety-net poll, so a failure here fails nothing.
   */
  private async freedSlot(entry: string): Promise<void> {
    await this.storage.jobs.wakeOldestWaiting(providerSlotKey(entry)).catch(() => false);
  }

  /** A capture marks the hold spent; a release gives it back. Each is unique per task in the ledger. */
  private async settle(stores: Stores, task: Task, how: 'capture' | 'release'): Promise<void> {
    if (task.price === 0) return;
    await stores.ledger.append({ apiKeyId: task.apiKeyId, kind: how, amount: how === 'release' ? task.price : 0, taskId: task.id });
  }

  /** The outbox entry and its first send, in the transaction of the state change; answers what to run after its commit. */
  private async oweCallback(stores: Stores, task: Task, event: 'task.succeeded' | 'task.failed'): Promise<(() => void) | undefined> {
    if (!task.callbackUrl) return undefined;
    const deliveryId = newDeliveryId();
    await stores.callbacks.add({ id: deliveryId, taskId: task.id, apiKeyId: task.apiKeyId, url: task.callbackUrl, event }, this.now());
    return this.firstAttempts.queue(stores, deliveryId);
  }
}
