import type { Storage } from '../ports/storage.js';
import { createSqlStorage } from './sql-storage.js';
import { openSqliteDialect } from './sqlite/sqlite-dialect.js';

/** Opens (and migrates) the configured database: SQLite in the data directory by default. */
export async function openStorage(options: { readonly dataDir: string }): Promise<Storage> {
  return createSqlStorage(await openSqliteDialect(options.dataDir));
}
