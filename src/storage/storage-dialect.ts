import type { Kysely } from 'kysely';
import type { Database } from './database-schema.js';

/**
 * What a database engine can do that the stores may rely on. Stores read these flags; nothing
 * above storage knows which engine runs (kysely's `DialectAdapter` is the model).
 */
export interface StorageCapabilities {
  /** Row locks that skip rows another transaction holds (`FOR UPDATE SKIP LOCKED`): claims run side by side. */
  readonly skipLocked: boolean;
  /** Several processes write at once (Postgres); false: one writer at a time (SQLite). */
  readonly concurrentWriters: boolean;
}

/**
 * Signals between processes on one database, where the engine has them (Postgres LISTEN/NOTIFY).
 * Without them, other processes find new work at their next poll.
 */
export interface StorageNotifications {
  /** Signals `channel`; inside a transaction the signal goes out at commit, and never on rollback. */
  notify(executor: Kysely<Database>, channel: string): Promise<void>;
  /**
   * Calls `onNotify` for every signal on `channel`, from any process, until the dialect closes.
   * Resolves once listening (or once the first attempt failed: it keeps reconnecting, and after a
   * reconnection calls `onNotify` once for the signals it may have missed).
   */
  listen(channel: string, onNotify: () => void): Promise<void>;
  /** Whether the listening connection is up (signals sent while it is down are not heard). */
  isListening(): boolean;
}

/**
 * One database engine behind the stores: how to open it, how a write transaction begins, and
 * how work that must not interleave across processes is serialised.
 */
export interface StorageDialect {
  readonly name: string;
  readonly capabilities: StorageCapabilities;
  readonly db: Kysely<Database>;
  /**
   * Counts committed changes to keys and finished tasks (the `read_changes` row its triggers keep),
   * read synchronously: cheap enough for every request. It never goes back, not even when a
   * transaction that counted a change rolls back. Absent where notifications carry those changes.
   */
  readonly readChangeCount?: () => number;
  /** Signals between processes; absent where the engine has none. */
  readonly notifications?: StorageNotifications;
  /**
   * Runs `work` in a transaction that writes; what it read cannot change under it before it
   * commits. `work` may run more than once (a dialect retries a transaction the engine aborted,
   * or whose connection dropped before it committed): keep it free of effects outside it.
   */
  writeTransaction<T>(work: (executor: Kysely<Database>) => Promise<T>): Promise<T>;
  /**
   * Runs `work` so that no other work serialised under the same `name` runs at the same time, in
   * any process (e.g. counting and taking a provider entry's slots). Inside a transaction it runs
   * in it; otherwise in a transaction of its own that takes the lock before it reads anything, so
   * it sees what the previous holder committed (Postgres: READ COMMITTED with a transaction-scoped
   * advisory lock as its first statement, never aborted for a serialization conflict; SQLite: a
   * write transaction). Like `writeTransaction`, `work` may run more than once.
   */
  serialized<T>(executor: Kysely<Database>, name: string, work: (executor: Kysely<Database>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
