import { type Kysely, sql } from 'kysely';
import type { ReadChanges, Storage, Stores } from '../ports/storage.js';
import { SqlCallbackOutbox } from './callback-outbox-sql.js';
import type { Database } from './database-schema.js';
import { SqlIdempotencyStore } from './idempotency-store-sql.js';
import { SqlInboundWebhookLog } from './inbound-webhook-log-sql.js';
import { SqlJobQueue } from './job-queue-sql.js';
import { SqlKeyStore } from './key-store-sql.js';
import { SqlLedger } from './ledger-sql.js';
import { SqlProviderGateStore } from './provider-gate-store-sql.js';
import { SqlRateWindowStore } from './rate-window-store-sql.js';
import { SqlSettingsStore } from './settings-store-sql.js';
import type { StorageDialect } from './storage-dialect.js';
import { SqlTaskStore } from './task-store-sql.js';

/** The channel on which processes tell each other that a job is due now. */
const JOBS_CHANNEL = 'segue_jobs';
/** The channel migration 0012's triggers signal a change to a key or a finished task on (Postgres). */
const READS_CHANNEL = 'segue_reads';

/**
 * `ReadChanges` over a dialect: the dialect's change count where it keeps one (SQLite), otherwise
 * the notifications heard (listening starts at the first question; nothing is kept until it is
 * in place, nor while its connection is down). This process's own changes count at once.
 */
function readChangesOf(dialect: StorageDialect): ReadChanges {
  let here = 0;
  let heard = 0;
  let listening: Promise<void> | undefined;
  let subscribed = false;
  const { readChangeCount, notifications } = dialect;
  return {
    version() {
      if (readChangeCount) return readChangeCount() + here;
      if (!notifications) return undefined;
      listening ??= notifications.listen(READS_CHANNEL, () => heard++).then(
        () => void (subscribed = true),
        () => {},
      );
      return subscribed && notifications.isListening() ? heard + here : undefined;
    },
    changedHere() {
      here++;
    },
  };
}

/**
 * The stores over one storage dialect; transactions are the dialect's write transactions. A job
 * that becomes due wakes this process's listeners after its commit and, where the dialect has
 * notifications, every other process's too (the signal is sent in the enqueuing transaction, so
 * it goes out at commit). A process hears its own notifications as well: a second wake is harmless.
 */
export function createSqlStorage(dialect: StorageDialect, now: () => number = Date.now): Storage {
  const listeners: Array<() => void> = [];
  const signal = () => listeners.forEach((listener) => listener());
  const notifications = dialect.notifications;
  let listening: Promise<void> | undefined;
  const storesFor = (executor: Kysely<Database>, onEnqueued: (dueNow: boolean) => void | Promise<void>): Stores => ({
    tasks: new SqlTaskStore(executor, dialect, now),
    jobs: new SqlJobQueue(executor, dialect, onEnqueued, now),
    keys: new SqlKeyStore(executor),
    ledger: new SqlLedger(executor, now),
    callbacks: new SqlCallbackOutbox(executor),
    settings: new SqlSettingsStore(executor),
    inboundWebhooks: new SqlInboundWebhookLog(executor),
    idempotency: new SqlIdempotencyStore(executor),
    rateWindows: new SqlRateWindowStore(executor, dialect),
    gates: new SqlProviderGateStore(executor, dialect, now),
  });
  /** `work` over the stores of a transaction that `run` opens; a job it enqueued is signalled here after the commit. */
  const inTransaction = async <T>(
    run: (inside: (executor: Kysely<Database>) => Promise<T>) => Promise<T>,
    work: (stores: Stores) => Promise<T>,
  ): Promise<T> => {
    let enqueued = false;
    const result = await run((executor) =>
      work(
        storesFor(executor, async (dueNow) => {
          enqueued = true;
          if (dueNow) await notifications?.notify(executor, JOBS_CHANNEL);
        }),
      ),
    );
    // Signal only after commit, so a woken worker finds the job.
    if (enqueued) signal();
    return result;
  };
  return {
    ...storesFor(dialect.db, async (dueNow) => {
      signal();
      // The job is stored either way; without the signal, other processes find it at their next poll.
      if (dueNow) await notifications?.notify(dialect.db, JOBS_CHANNEL).catch(() => {});
    }),
    transaction: (work) => inTransaction(dialect.writeTransaction, work),
    transactionOneAtATime: (name, work) => inTransaction((inside) => dialect.serialized(dialect.db, name, inside), work),
    async ping() {
      await sql`select 1`.execute(dialect.db);
    },
    readChanges: readChangesOf(dialect),
    onJobEnqueued(listener) {
      listeners.push(listener);
      listening ??= notifications?.listen(JOBS_CHANNEL, signal) ?? Promise.resolve();
      return listening;
    },
    close: () => dialect.close(),
  };
}
