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

/**
 * Tells a process when what it keeps in memory of API keys and finished tasks may have changed:
 * any change to a key, and any change to a task that had finished (deletion included), in this
 * process or another one on the database.
 */
export interface ReadChanges {
  /**
   * A number that is different after every such change: this process's own at once, another
   * process's as soon as the engine carries it (SQLite: at once; Postgres: when its notification
   * arrives). Undefined while other processes' changes cannot be seen (a notification connection
   * not yet or no longer listening): keep nothing then. Read it before reading what it covers.
   */
  version(): number | undefined;
  /** This process changed a key or a finished task: `version()` moves at once, before any notification. */
  changedHere(): void;
}

/** All persistence, plus a unit of work: what `transaction` writes commits together or not at all. */
export interface Storage extends Stores {
  /**
   * Runs `work` as one transaction. It may run `work` again when the database aborted it before
   * it committed (a conflict with a concurrent transaction, a dropped connection): keep effects
   * other than the stores' writes out of it.
   */
  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T>;
  /**
   * Runs `work` as one transaction, one at a time with every other `work` under the same `name`
   * in any process on the database: once it starts, it reads what the previous one committed and
   * no other transaction under `name` runs until it ends (one API key's creates: its count of
   * unfinished tasks and its credit hold). Unlike `transaction`, it is not shielded from writers
   * outside `name`: what they may change under it must be taken by a conditional write (a hold
   * that moves the balance only if it covers the price) or only move its way (tasks finishing).
   * It never aborts for a conflict with them, so it never runs out of retries. Like
   * `transaction`, it may run `work` again after a dropped connection or a deadlock.
   */
  transactionOneAtATime<T>(name: string, work: (stores: Stores) => Promise<T>): Promise<T>;
  /** Throws when the database cannot answer. */
  ping(): Promise<void>;
  /**
   * Subscribes to "a job became due" signals: those of this process and, where the engine carries
   * them between processes, those of every process on the database. Resolves once the
   * subscription is in place (a listening connection that cannot connect keeps trying).
   */
  onJobEnqueued(listener: () => void): Promise<void>;
  /** When what a process keeps of keys and finished tasks stops being good (see `ReadChanges`). */
  readonly readChanges: ReadChanges;
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
