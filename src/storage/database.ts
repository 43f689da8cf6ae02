import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase as KyselySqliteDatabase } from 'kysely';
import type { Database } from './database-schema.js';
import { migrateToLatest } from './migrations.js';

export interface OpenDatabase {
  readonly db: Kysely<Database>;
  close(): Promise<void>;
}

/**
 * Opens (and migrates) the embedded SQLite database in the data directory. WAL lets readers
 * run beside the one writer; busy_timeout makes a second process (a separate worker) wait for
 * the write lock instead of failing.
 */
export async function openSqliteDatabase(dataDir: string): Promise<OpenDatabase> {
  fs.mkdirSync(dataDir, { recursive: true });
  const connection = new SqliteDatabase(path.join(dataDir, 'segue.db'));
  connection.pragma('journal_mode = WAL');
  connection.pragma('synchronous = NORMAL');
  connection.pragma('busy_timeout = 10000');
  connection.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(connection) }) });
  await migrateToLatest(db);
  return { db, close: () => db.destroy() };
}

/**
 * Kysely prepares every statement anew; preparing costs more than running a primary-key
 * lookup. Segue's queries are a small fixed set, so their prepared statements are kept
 * (bounded, in case of an unforeseen variety of SQL texts).
 */
function withStatementCache(connection: SqliteDatabase.Database, limit = 512): KyselySqliteDatabase {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => connection.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        if (statements.size >= limit) statements.delete(statements.keys().next().value!);
        statement = connection.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}
