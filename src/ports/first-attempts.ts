import type { Stores } from './storage.js';

/**
 * How the first attempt of a callback delivery is queued, inside the transaction that ends its
 * task. The plain way queues a job for any worker. A worker in the committing process may instead
 * take the job leased to itself and send the callback as soon as the transaction commits (no
 * claim, nothing to read again, no wait behind other jobs in the table), the leased job staying
 * in the table as the crash-safe fallback.
 */
export interface FirstAttempts {
  /** Queues the first attempt of `deliveryId`; answers what to run once the transaction has committed, if anything. */
  queue(stores: Stores, deliveryId: string): Promise<(() => void) | undefined>;
}
