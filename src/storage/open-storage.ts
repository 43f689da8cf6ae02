import pino, { type Logger } from 'pino';
import type { Storage } from '../ports/storage.js';
import { openPostgresDialect } from './postgres/postgres-dialect.js';
import { createSqlStorage } from './sql-storage.js';
import { openSqliteDialect } from './sqlite/sqlite-dialect.js';

/** Where the database is: SQLite in `dataDir` unless `databaseUrl` (postgres:// or postgresql://) is given. */
export interface StorageOptions {
  readonly dataDir: string;
  readonly databaseUrl?: string | undefined;
  /** Connections each process keeps to PostgreSQL (default 10). */
  readonly databasePoolSize?: number;
  /** How long a SQLite write waits for another process's write lock (default 10 s). */
  readonly sqliteBusyTimeoutMs?: number;
  /** Where dropped connections are reported (default: warnings on stderr). */
  readonly logger?: Logger;
  /** The time rows are stamped with and jobs fall due by (Segue's clock). */
  readonly now?: () => number;
}

/** Opens (and migrates) the configured database: SQLite in the data directory by default. */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  if (!options.databaseUrl) return createSqlStorage(await openSqliteDialect(options.dataDir, { busyTimeoutMs: options.sqliteBusyTimeoutMs }), options.now);
  if (!/^postgres(ql)?:\/\//.test(options.databaseUrl)) throw new Error('the database URL must start with postgres:// or postgresql://');
  const logger = options.logger ?? pino({ level: 'warn' }, pino.destination(2));
  return createSqlStorage(await openPostgresDialect(options.databaseUrl, { poolSize: options.databasePoolSize ?? 10, logger }), options.now);
}
