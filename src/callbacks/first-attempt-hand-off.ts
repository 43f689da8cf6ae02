import { jobRequest } from '../jobs/job-kinds.js';
import type { Worker } from '../jobs/worker.js';
import type { FirstAttempts } from '../ports/first-attempts.js';
import type { Stores } from '../ports/storage.js';
import type { DeliveryStatements } from './delivery-statements.js';

/**
 * The first attempt of a callback, sent by this process's worker right after the commit that
 * owed it: the transaction writes the delivery's job already leased to the worker (the claim it
 * saves) and reads the delivery with its task and signing keys (the read it saves, and the wait
 * behind every other statement queued meanwhile); once committed, the worker runs the job in its
 * next free place, before anything it would claim. The job stays in the table, leased: a crash
 * leaves it to any worker once the lease expires, and its attempt keeps its `webhook-id` (the
 * delivery's id). When the worker takes no more (stopped, or enough waiting), the job is queued
 * for any worker as usual.
 */
export class FirstAttemptHandOff implements FirstAttempts {
  constructor(
    private readonly worker: Worker,
    private readonly statements: DeliveryStatements,
  ) {}

  async queue(stores: Stores, deliveryId: string): Promise<(() => void) | undefined> {
    const request = jobRequest('callback.deliver', { deliveryId, round: 1 });
    const lease = this.worker.leaseForAdoption('callback.deliver');
    if (!lease) {
      await stores.jobs.enqueue(request);
      return undefined;
    }
    const job = await stores.jobs.enqueueLeased(request, lease);
    if (!job) return undefined;
    const toSend = (await stores.callbacks.findToSend([deliveryId])).get(deliveryId);
    return () => {
      if (toSend) this.statements.prime(toSend);
      if (!this.worker.adopt(job)) this.statements.forget(deliveryId);
    };
  }
}
