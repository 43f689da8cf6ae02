import { type Kysely, sql } from 'kysely';
import type { Storage, Stores } from '../ports/storage.js';
import { SqlCallbackOutbox } from './callback-outbox-sql.js';
import type { Database } from './database-schema.js';
import { SqlIdempotencyStore } from './idempotency-store-sql.js';
import { SqlInboundWebhookLog } from './inbound-webhook-log-sql.js';
import { SqlJobQueue } from './job-queue-sql.js';
import { SqlKeyStore } from './key-store-sql.js';
import { SqlLedger } from './ledger-sql.js';
import { SqlSettingsStore } from './settings-store-sql.js';
import type { StorageDialect } from './storage-dialect.js';
import { SqlTaskStore } from './task-store-sql.js';

/** The stores over one storage dialect; transactions are the dialect's write transactions. */
export function createSqlStorage(dialect: StorageDialect): Storage {
  const listeners: Array<() => void> = [];
  const signal = () => listeners.forEach((listener) => listener());
  const storesFor = (executor: Kysely<Database>, onEnqueued: () => void): Stores => ({
    tasks: new SqlTaskStore(executor, dialect),
    jobs: new SqlJobQueue(executor, dialect, onEnqueued),
    keys: new SqlKeyStore(executor),
    ledger: new SqlLedger(executor),
    callbacks: new SqlCallbackOutbox(executor),
    settings: new SqlSettingsStore(executor),
    inboundWebhooks: new SqlInboundWebhookLog(executor),
    idempotency: new SqlIdempotencyStore(executor),
  });
  return {
    ...storesFor(dialect.db, signal),
    async transaction(work) {
      let enqueued = false;
      const result = await dialect.writeTransaction((executor) => work(storesFor(executor, () => (enqueued = true))));
      // Signal only after commit, so a woken worker finds the job.
      if (enqueued) signal();
      return result;
    },
    async ping() {
      await sql`select 1`.execute(dialect.db);
    },
    onJobEnqueued(listener) {
      listeners.push(listener);
    },
    close: () => dialect.close(),
  };
}
