import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** A database to measure on: SQLite in a fresh directory, or a fresh PostgreSQL database. */
export interface BenchDatabase {
  readonly name: 'sqlite' | 'postgres';
  /** What a Segue process needs to run on it (`SEGUE_DATA_DIR`, and `SEGUE_DATABASE_URL` for PostgreSQL). */
  readonly environment: Record<string, string>;
  drop(): Promise<void>;
}

/** SQLite always; PostgreSQL too when `SEGUE_TEST_DATABASE_URL` names a server (a fresh database, dropped after). */
export async function benchDatabases(): Promise<BenchDatabase[]> {
  const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'segue-bench-db-'));
  const list: BenchDatabase[] = [
    { name: 'sqlite', environment: { SEGUE_DATA_DIR: sqliteDir }, drop: async () => fs.rmSync(sqliteDir, { recursive: true, force: true }) },
  ];
  const adminUrl = process.env['SEGUE_TEST_DATABASE_URL'];
  if (adminUrl) {
    const name = `segue_bench_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'segue-bench-db-pg-'));
    list.push({
      name: 'postgres',
      environment: { SEGUE_DATA_DIR: dataDir, SEGUE_DATABASE_URL: url.toString() },
      drop: async () => {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        await client.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1`, [name]);
        await client.query(`drop database if exists ${name}`);
        await client.end();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    });
  }
  return list;
}

/** Runs `measure` on every bench database in turn; PostgreSQL says why it was skipped when it was. */
export async function onEveryDatabase(measure: (database: BenchDatabase) => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  const figures: Record<string, unknown> = {};
  for (const database of await benchDatabases()) {
    try {
      figures[database.name] = await measure(database);
    } catch (error) {
      figures[database.name] = { error: (error as Error).message };
    } finally {
      await database.drop();
    }
  }
  if (!('postgres' in figures)) figures['postgres'] = 'skipped: SEGUE_TEST_DATABASE_URL is not set';
  return figures;
}
