import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Driver, Kysely, SqliteDialect, type SqliteDatabase as KyselySqliteDatabase, type SqliteStatement, sql } from 'kysely';
import { StorageUnavailableError } from '../../ports/storage.js';
import type { Database } from '../database-schema.js';
import { migrateToLatest } from '../migrations.js';
import type { StorageDialect } from '../storage-dialect.js';

/** How long a change count read from the database is used before it is read again (no write of this process in between). */
const READ_CHANGES_FRESH_MS = 5;

/** How long a write waits for another process's write lock before it fails (retryably). */
const BUSY_TIMEOUT_MS = 10_000;

/**
 * The embedded SQLite database in the data directory. WAL lets readers run beside the one
 * writer; busy_timeout makes a second process (a separate worker) wait for the write lock
 * instead of failing. One writer at a time is what makes claims and holds safe here. The wait
 * blocks the waiting process (the driver is synchronous); one that outlasts `busyTimeoutMs`
 * fails with a retryable `StorageUnavailableError`, with nothing written.
 */
export async function openSqliteDialect(dataDir: string, options: { busyTimeoutMs?: number } = {}): Promise<StorageDialect> {
  fs.mkdirSync(dataDir, { recursive: true });
  const connection = new SqliteDatabase(path.join(dataDir, 'segue.db'));
  connection.pragma('journal_mode = WAL');
  connection.pragma('synchronous = NORMAL');
  connection.pragma(`busy_timeout = ${options.busyTimeoutMs ?? BUSY_TIMEOUT_MS}`);
  connection.pragma('foreign_keys = ON');
  // This process's own writes make the next question read the change count again (see readChangeCount).
  let countIsFresh = false;
  const db = new Kysely<Database>({ dialect: new TurnTakingSqliteDialect({ database: withStatementCache(connection, () => (countIsFresh = false)) }) });
  await migrateUnderWriteLock(connection, db);
  const changeCount = connection.prepare('select version from read_changes where id = 1').pluck();
  // A reader on this one connection sees a write transaction's own uncommitted count; a rollback
  // would take it back. Each rollback moves the high part instead, so the count never repeats.
  let rollbacks = 0;
  // Reading the count is a read transaction (a few microseconds): it is read again after any
  // write of this process, and otherwise at most every READ_CHANGES_FRESH_MS, which bounds how
  // long another process's change takes to be seen here.
  let count = 0;
  let countReadAt = 0;
  const readChangeCount = () => {
    const now = performance.now();
    if (!countIsFresh || now - countReadAt >= READ_CHANGES_FRESH_MS) {
      count = Number(changeCount.get());
      countReadAt = now;
      countIsFresh = true;
    }
    return rollbacks * 2 ** 32 + count;
  };
  // The executors of write transactions under way: serialised work inside one needs no other.
  const inWriteTransaction = new WeakSet<Kysely<Database>>();
  // BEGIN IMMEDIATE takes the write lock up front: a transaction that reads (a balance, a
  // count) and then writes can neither deadlock nor act on a read another process changed.
  const writeTransaction = <T>(work: (executor: Kysely<Database>) => Promise<T>): Promise<T> =>
    db.connection().execute(async (executor) => {
      await sql`begin immediate`.execute(executor);
      inWriteTransaction.add(executor);
      try {
        const value = await work(executor);
        await sql`commit`.execute(executor);
        return value;
      } catch (error) {
        rollbacks++;
        await sql`rollback`.execute(executor);
        throw error;
      } finally {
        inWriteTransaction.delete(executor);
      }
    });
  return {
    name: 'sqlite',
    capabilities: { skipLocked: false, concurrentWriters: false },
    db,
    readChangeCount,
    writeTransaction,
    // One writer at a time: work that reads and then writes holds the write lock throughout.
    serialized: (executor, _name, work) =>
      inWriteTransaction.has(executor) || executor.isTransaction ? work(executor) : writeTransaction(work),
    close: () => db.destroy(),
  };
}

/** How long statements may follow one another without letting the event loop turn. */
const TURN_EVERY_MS = 10;

/**
 * The driver is synchronous and its connection's queue is promise-based, so queued statements
 * (a thousand tasks ending at once) run back to back as one chain of microtasks: no timer, no
 * socket, no HTTP request of this process is served until the queue is empty. Here a statement
 * (or a transaction, before it begins) that gets the connection more than `TURN_EVERY_MS` after
 * the event loop last turned lets it turn first, holding the connection (so the queue behind it
 * waits too): I/O waiting meanwhile (callbacks being sent, requests arriving) goes on between
 * statements, never inside a transaction. When the loop turns on its own, nothing waits.
 */
class TurnTakingSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    let turnedAt = performance.now();
    let watching = false;
    // One callback at a time notes when the loop next turns.
    const noted = () => {
      watching = false;
      turnedAt = performance.now();
    };
    return {
      init: () => driver.init(),
      acquireConnection: async () => {
        const connection = await driver.acquireConnection();
        if (performance.now() - turnedAt >= TURN_EVERY_MS) {
          await nextTurn();
          turnedAt = performance.now();
        }
        if (!watching) {
          watching = true;
          setImmediate(noted);
        }
        return connection;
      },
      beginTransaction: (connection, settings) => driver.beginTransaction(connection, settings),
      commitTransaction: (connection) => driver.commitTransaction(connection),
      rollbackTransaction: (connection) => driver.rollbackTransaction(connection),
      savepoint: (connection, name, compile) => driver.savepoint!(connection, name, compile),
      rollbackToSavepoint: (connection, name, compile) => driver.rollbackToSavepoint!(connection, name, compile),
      releaseSavepoint: (connection, name, compile) => driver.releaseSavepoint!(connection, name, compile),
      releaseConnection: (connection) => driver.releaseConnection(connection),
      destroy: () => driver.destroy(),
    };
  }
}

/**
 * Several processes started at once on a fresh data directory must not each create the schema:
 * the migrations run inside one IMMEDIATE transaction, so the others wait for the write lock and
 * then find the schema up to date. SQLite's DDL is transactional: a failed step leaves nothing.
 */
async function migrateUnderWriteLock(connection: SqliteDatabase.Database, db: Kysely<Database>): Promise<void> {
  connection.exec('BEGIN IMMEDIATE');
  try {
    await migrateToLatest(db);
    connection.exec('COMMIT');
  } catch (error) {
    if (connection.inTransaction) connection.exec('ROLLBACK');
    throw error;
  }
}

/**
 * Kysely prepares every statement anew; preparing costs more than running a primary-key
 * lookup. Segue's queries are a small fixed set, so their prepared statements are kept
 * (bounded, in case of an unforeseen variety of SQL texts). A statement that writes (commit and
 * rollback included) calls `onWrite` once it has run.
 */
function withStatementCache(connection: SqliteDatabase.Database, onWrite: () => void, limit = 512): KyselySqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => connection.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        if (statements.size >= limit) statements.delete(statements.keys().next().value!);
        statement = telling(connection.prepare(sql), onWrite);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

function telling(statement: SqliteDatabase.Statement, onWrite: () => void): SqliteStatement {
  if (statement.reader) return statement;
  return {
    reader: false,
    all: (parameters) => unlessBusy(() => statement.all(parameters)),
    iterate: (parameters) => statement.iterate(parameters),
    run(parameters) {
      try {
        return unlessBusy(() => statement.run(parameters));
      } finally {
        onWrite();
      }
    },
  };
}

/**
 * Runs a write; the write lock still held by another process after the busy timeout (SQLITE_BUSY,
 * nothing written) is a retryable `StorageUnavailableError`, like a database that is away.
 */
function unlessBusy<T>(write: () => T): T {
  try {
    return write();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY')) throw error;
    throw new StorageUnavailableError('the SQLite database stayed locked by another process for the busy timeout', false, { cause: error });
  }
}
