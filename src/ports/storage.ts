import type { CallbackOutbox } from './callback-outbox.js';
import type { IdempotencyStore } from './idempotency-store.js';
import type { InboundWebhookLog } from './inbound-webhook-log.js';
import type { JobQueue } from './job-queue.js';
import type { KeyStore } from './key-store.js';
import type { Ledger } from './ledger.js';
import type { SettingsStore } from './settings-store.js';
import type { TaskStore } from './task-store.js';

/** The stores, bound to one executor: the database itself or an open transaction. */
export interface Stores {
  readonly tasks: TaskStore;
  readonly jobs: JobQueue;
  readonly keys: KeyStore;
  readonly ledger: Ledger;
  readonly callbacks: CallbackOutbox;
  readonly settings: SettingsStore;
  readonly inboundWebhooks: InboundWebhookLog;
  readonly idempotency: IdempotencyStore;
}

/** All persistence, plus a unit of work: what `transaction` writes commits together or not at all. */
export interface Storage extends Stores {
  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T>;
  /** Throws when the database cannot answer. */
  ping(): Promise<void>;
  /** Subscribes to "a job became due" signals of this process. */
  onJobEnqueued(listener: () => void): void;
  /** Closes the database. */
  close(): Promise<void>;
}
