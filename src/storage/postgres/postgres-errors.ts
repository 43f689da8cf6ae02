import { setTimeout as sleep } from 'node:timers/promises';
import type { CompiledQuery, DatabaseConnection, Driver, QueryResult, TransactionSettings } from 'kysely';
import { StorageUnavailableError } from '../../ports/storage.js';

/** Codes of a connection that is gone or cannot be made: socket errors, class 08, shutdowns, too many connections. */
const connectionErrorCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);
/** pg's own errors for a connection that ended or could not be opened carry no code, only these words. */
const connectionErrorMessages = /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect)/;
/** pg refused to send the statement: the connection was already known to be gone. */
const notSentMessages = /and is not queryable$/;

/** Whether `error` says the connection to the server is gone or could not be made (as opposed to what a statement did). */
function isConnectionError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (code.startsWith('08') || connectionErrorCodes.has(code))) return true;
  return typeof message === 'string' && connectionErrorMessages.test(message);
}

/** A serialization failure or a deadlock: Postgres rolled the transaction back, so running it again is safe. */
function isTransactionConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}

async function translated<T>(run: () => Promise<T>, committing = false): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!isConnectionError(error)) throw error;
    const commitUnknown = committing && !notSentMessages.test((error as Error).message);
    const message = commitUnknown
      ? 'the database connection dropped during a commit: the transaction may or may not have been written'
      : `the database is unreachable or dropped the connection (${(error as Error).message})`;
    throw new StorageUnavailableError(message, commitUnknown, { cause: error });
  }
}

/**
 * Kysely's Postgres driver with connection failures thrown as `StorageUnavailableError`, so that
 * callers decide retries from a field. A failed rollback on a dropped connection is not an error:
 * a transaction does not outlive its connection (the server has rolled it back), and Kysely would
 * otherwise throw the rollback's error instead of the one that made it roll back.
 */
export class ConnectionErrorsDriver implements Driver {
  readonly #inner: Driver;
  readonly #innerOf = new WeakMap<DatabaseConnection, DatabaseConnection>();

  constructor(inner: Driver) {
    this.#inner = inner;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await translated(() => this.#inner.acquireConnection());
    const outer: DatabaseConnection = {
      executeQuery: <R>(query: CompiledQuery) => translated<QueryResult<R>>(() => inner.executeQuery<R>(query)),
      streamQuery: <R>(query: CompiledQuery, chunkSize?: number) => inner.streamQuery<R>(query, chunkSize),
    };
    this.#innerOf.set(outer, inner);
    return outer;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.#inner.beginTransaction(connection, settings);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await translated(() => this.#inner.commitTransaction(this.#innerOf.get(connection)!), true);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.#inner.rollbackTransaction(connection);
    } catch (error) {
      if (!(error instanceof StorageUnavailableError)) throw error;
    }
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(this.#innerOf.get(connection)!);
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}

/** How long a transaction is run again while Postgres aborts it or its connection drops before the commit. */
const RETRY_WINDOW_MS = 10_000;

/**
 * Runs a transaction, and again (with jittered, growing pauses, for up to 10 s) when Postgres
 * rolled it back for a conflict with a concurrent one, or its connection dropped before the commit
 * was sent. A drop during the commit is never retried: the work may already be written.
 */
export async function withTransactionRetries<T>(run: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + RETRY_WINDOW_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const conflict = isTransactionConflict(error);
      const retryable = conflict || (error instanceof StorageUnavailableError && !error.commitUnknown);
      const pauseMs = Math.random() * Math.min(1000, 10 * 2 ** attempt);
      if (!retryable) throw error;
      if (Date.now() + pauseMs > deadline) {
        throw conflict ? new StorageUnavailableError('the transaction kept conflicting with concurrent ones', false, { cause: error }) : error;
      }
      await sleep(pauseMs);
    }
  }
}
