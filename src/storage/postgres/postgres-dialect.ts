import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../database-schema.js';
import { migrateToLatest } from '../migrations.js';
import type { StorageDialect } from '../storage-dialect.js';
import { ConnectionErrorsDriver, withTransactionRetries } from './postgres-errors.js';
import { PostgresListener } from './postgres-listener.js';

export interface PostgresDialectOptions {
  /** Connections this process keeps in its pool. */
  readonly poolSize: number;
  /** Where dropped connections are reported. */
  readonly logger: Logger;
}

/** Kysely's dialect over `pg`, with connection failures thrown as `StorageUnavailableError`. */
class SeguePostgresDialect extends PostgresDialect {
  override createDriver() {
    return new ConnectionErrorsDriver(super.createDriver());
  }
}

/**
 * Times, amounts and counts are `bigint` (int8), which `pg` answers as strings: here they are
 * numbers, as on SQLite. Every amount is a safe integer (the services refuse any other).
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * PostgreSQL at `url`: a pool of `poolSize` connections, and one more that listens for
 * notifications once someone subscribes. Writers run side by side: claims skip locked rows,
 * write transactions are SERIALIZABLE (what one read cannot change under it; Postgres aborts
 * one of two conflicting transactions, and it runs again), and serialised work takes a
 * transaction-scoped advisory lock first, at READ COMMITTED (its holders queue, never abort). Migrations run under Kysely's Migrator, which on Postgres
 * takes its own advisory lock and runs them in one transaction.
 */
export async function openPostgresDialect(url: string, options: PostgresDialectOptions): Promise<StorageDialect> {
  const connection: pg.ClientConfig = { connectionString: url, types, keepAlive: true, connectionTimeoutMillis: 10_000 };
  const pool = new pg.Pool({ ...connection, max: options.poolSize });
  // A connection that drops, idle or in use, must never crash the process: its client reports it
  // here (a client in use has no other listener), and its next statement fails retryably.
  pool.on('connect', (client) =>
    client.on('error', (error) => options.logger.warn({ err: error }, 'a database connection dropped')),
  );
  // The pool then removes an idle one and re-emits the error, already logged above.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new SeguePostgresDialect({ pool }) });
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const listener = new PostgresListener(connection, options.logger);
  return {
    name: 'postgres',
    capabilities: { skipLocked: true, concurrentWriters: true },
    db,
    notifications: {
      async notify(executor, channel) {
        await sql`select pg_notify(${channel}, '')`.execute(executor);
      },
      listen: (channel, onNotify) => listener.listen(channel, onNotify),
      isListening: () => listener.isListening(),
    },
    writeTransaction: (work) => withTransactionRetries(() => db.transaction().setIsolationLevel('serializable').execute(work)),
    serialized(executor, name, work) {
      const locked = async (transaction: Kysely<Database>) => {
        // Held until the transaction ends, so the work's writes are committed before the next holder reads.
        await sql`select pg_advisory_xact_lock(hashtextextended(${name}, 0))`.execute(transaction);
        return work(transaction);
      };
      // READ COMMITTED named, not left to the server's default: each statement after the lock reads
      // what the previous holder committed (a SERIALIZABLE snapshot, taken by the lock's own
      // statement, would be older, and would abort on the rows it changed).
      return executor.isTransaction
        ? locked(executor)
        : withTransactionRetries(() => executor.transaction().setIsolationLevel('read committed').execute(locked));
    },
    async close() {
      await listener.close();
      await db.destroy();
    },
  };
}
