import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';
import pino from 'pino';
import { openPostgresDialect } from '../../src/storage/postgres/postgres-dialect.js';
import type { StorageDialect } from '../../src/storage/storage-dialect.js';
import { openSqliteDialect } from '../../src/storage/sqlite/sqlite-dialect.js';
import { temporaryDirectory } from './test-segue.js';

/** A database for one contract test: open as many connections to it as needed, then drop it. */
export interface TestDatabase {
  /** Where a child process finds the same database (a directory or a URL). */
  readonly location: string;
  open(): Promise<StorageDialect>;
  /** Cuts every connection to the database, as a server restart would; absent where there are none. */
  readonly cutConnections?: () => Promise<void>;
  drop(): Promise<void>;
}

/** One storage dialect under test; `skip` says why it cannot run here. */
export interface DialectUnderTest {
  readonly name: string;
  readonly skip: string | false;
  create(): Promise<TestDatabase>;
}

/** Opens a dialect by name at a location: how the race workers (child processes) connect. */
export async function openDialect(name: string, location: string): Promise<StorageDialect> {
  if (name === 'sqlite') return openSqliteDialect(location);
  if (name === 'postgres') return openPostgresDialect(location, { poolSize: 4, logger: pino({ level: 'silent' }) });
  throw new Error(`unknown dialect ${name}`);
}

/** A server to make test databases on, e.g. postgres://postgres@127.0.0.1:5432/postgres (CI sets it). */
const postgresAdminUrl = process.env.SEGUE_TEST_DATABASE_URL;

/** Runs one statement on the admin database (creating and dropping databases cannot run in a transaction). */
async function asAdmin(statement: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: postgresAdminUrl });
  await client.connect();
  try {
    await client.query(statement, values);
  } finally {
    await client.end();
  }
}

/** A fresh database on the test server, dropped (its connections cut first) after the test. */
async function createPostgresDatabase(): Promise<TestDatabase> {
  if (!postgresAdminUrl) throw new Error('SEGUE_TEST_DATABASE_URL must be set in CI: the PostgreSQL contract tests cannot be skipped there');
  const name = `segue_test_${randomBytes(6).toString('hex')}`;
  await asAdmin(`create database ${name}`);
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  // Waits (up to 5 s) until each connection's server process is gone.
  const cutConnections = () =>
    asAdmin('select pg_terminate_backend(pid, 5000) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
  return {
    location: url.toString(),
    open: () => openDialect('postgres', url.toString()),
    cutConnections,
    // WITH (FORCE) cuts the database's connections first, in the same statement.
    drop: () => asAdmin(`drop database if exists ${name} with (force)`),
  };
}

/** Every dialect the storage contract suite runs on. */
export const DIALECTS: readonly DialectUnderTest[] = [
  {
    name: 'sqlite',
    skip: false,
    async create() {
      const directory = temporaryDirectory('segue-contract-');
      return {
        location: directory,
        open: () => openDialect('sqlite', directory),
        drop: async () => fs.rmSync(directory, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'postgres',
    // In CI the variable is always set: there the tests run (and fail loudly without it), never skip.
    skip: postgresAdminUrl || process.env.CI === 'true' ? false : 'SEGUE_TEST_DATABASE_URL is not set: PostgreSQL contract tests skipped',
    create: createPostgresDatabase,
  },
];
