import type { CallbackOutbox } from './callback-outbox.js';
import type { IdempotencyStore } from './idempotency-store.js';
import type { InboundWebhookLog } from './inbound-webhook-log.js';
import type { JobQueue } from './job-queue.js';
import type { KeyStore } from './key-store.js';
import type { Ledger } from './ledger.js';
import type { ProviderGateStore } from './provider-gate-store.js';
import type { RateWindowStore } from './rate-window-store.js';
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
  /** Per-key rate limits, shared by every API process. */
  readonly rateWindows: RateWindowStore;
  /** Provider entries' request rates and circuit breakers, shared by every worker. */
  readonly gates: ProviderGateStore;
}

/** All persistence, plus a unit of work: what `transaction` writes commits together or not at all. */
export interface Storage extends Stores {
  /**
   * Runs `work` as one transaction. It may run `work` again when the database aborted it before
   * it committed (a conflict with a concurrent transaction, a dropped connection): keep effects
   * other than the stores' writes out of it.
   */
  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T>;
  /** Throws when the database cannot answer. */
  ping(): Promise<void>;
  /**
   * Subscribes to "a job became due" signals: those of this process and, where the engine carries
   * them between processes, those of every process on the database. Resolves once the
   * subscription is in place (a listening connection that cannot connect keeps trying).
   */
  onJobEnqueued(listener: () => void): Promise<void>;
  /** Closes the database. */
  close(): Promise<void>;
}

/**
 * The database could not be reached, or dropped the connection mid-operation. Nothing was
 * committed, unless `commitUnknown`: the connection dropped while a commit was under way, so
 * the work may or may not have been written (a retry must be idempotent). Try again later.
 */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
  readonly isRetryable = true;

  constructor(
    message: string,
    readonly commitUnknown = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
