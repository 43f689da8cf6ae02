import { NotFoundError } from '../domain/errors.js';
import { jobRequest } from '../jobs/job-kinds.js';
import type { CallbackAttempt, CallbackDelivery } from '../ports/callback-outbox.js';
import type { Storage } from '../ports/storage.js';

/** Reading and repairing callback deliveries, always within one API key's own tasks. */
export class CallbackService {
  constructor(
    private readonly storage: Storage,
    private readonly now: () => number = Date.now,
  ) {}

  /** The deliveries of a task of this key, with every attempt. */
  async listForTask(taskId: string, apiKeyId: string): Promise<Array<CallbackDelivery & { attempts: CallbackAttempt[] }>> {
    const task = await this.storage.tasks.findOwned(taskId, apiKeyId);
    if (!task) throw new NotFoundError('no such task');
    return this.storage.callbacks.listForTask(taskId);
  }

  /** Sends a finished delivery again (same webhook-id, the schedule starting over). */
  async redeliver(deliveryId: string, apiKeyId: string): Promise<CallbackDelivery> {
    const delivery = await this.storage.callbacks.find(deliveryId);
    if (!delivery || delivery.apiKeyId !== apiKeyId) throw new NotFoundError('delivery not found');
    await this.reopen(delivery.id);
    return (await this.storage.callbacks.find(deliveryId))!;
  }

  /** Sends every exhausted delivery of a key again; returns how many. */
  async redeliverExhausted(apiKeyId: string): Promise<number> {
    let reopened = 0;
    for (const delivery of await this.storage.callbacks.listByKey(apiKeyId, 'exhausted')) {
      if (await this.reopen(delivery.id)) reopened++;
    }
    return reopened;
  }

  private async reopen(deliveryId: string): Promise<boolean> {
    return this.storage.transaction(async (stores) => {
      const round = await stores.callbacks.reopen(deliveryId, this.now());
      if (round === undefined) return false;
      await stores.jobs.enqueue(jobRequest('callback.deliver', { deliveryId, round }));
      return true;
    });
  }
}
