import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { CallbackOutbox } from '../ports/callback-outbox.js';
import type { JobQueue } from '../ports/job-queue.js';
import type { KeyStore, Ledger, SettingsStore } from '../ports/key-store.js';
import type { IdempotencyStore } from '../ports/idempotency-store.js';
import type { InboundWebhookLog } from '../ports/inbound-webhook-log.js';
import type { TaskStore } from '../ports/task-store.js';
import type { Database } from './database-schema.js';
import { SqlCallbackOutbox } from './callback-outbox-sql.js';
import { SqlJobQueue } from './job-queue-sql.js';
import { SqlKeyStore, SqlLedger, SqlSettingsStore } from './key-store-sql.js';
import { SqlIdempotencyStore } from './idempotency-store-sql.js';
import { SqlInboundWebhookLog } from './inbound-webhook-log-sql.js';
import { SqlTaskStore } from './task-store-sql.js';

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
}

export function createSqlStorage(db: Kysely<Database>): Storage {
  const listeners: Array<() => void> = [];
  const signal = () => listeners.forEach((listener) => listener());
  const storesFor = (executor: Kysely<Database>, onEnqueued: () => void): Stores => ({
    tasks: new SqlTaskStore(executor),
    jobs: new SqlJobQueue(executor, onEnqueued),
    keys: new SqlKeyStore(executor),
    ledger: new SqlLedger(executor),
    callbacks: new SqlCallbackOutbox(executor),
    settings: new SqlSettingsStore(executor),
    inboundWebhooks: new SqlInboundWebhookLog(executor),
    idempotency: new SqlIdempotencyStore(executor),
  });
  return {
    ...storesFor(db, signal),
    async transaction(work) {
      let enqueued = false;
      // BEGIN IMMEDIATE takes SQLite's write lock up front: a transaction that reads (a balance,
      // a count) and then writes can neither deadlock nor act on a read another process changed.
      const result = await db.connection().execute(async (connection) => {
        await sql`begin immediate`.execute(connection);
        try {
          const value = await work(storesFor(connection, () => (enqueued = true)));
          await sql`commit`.execute(connection);
          return value;
        } catch (error) {
          await sql`rollback`.execute(connection);
          throw error;
        }
      });
      // Signal only after commit, so a woken worker finds the job.
      if (enqueued) signal();
      return result;
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    onJobEnqueued(listener) {
      listeners.push(listener);
    },
  };
}
