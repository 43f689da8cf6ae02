import fs from 'node:fs';
import type { StorageDialect } from '../../src/storage/storage-dialect.js';
import { openSqliteDialect } from '../../src/storage/sqlite/sqlite-dialect.js';
import { temporaryDirectory } from './test-segue.js';

/** A database for one contract test: open as many connections to it as needed, then drop it. */
export interface TestDatabase {
  /** Where a child process finds the same database (a directory or a URL). */
  readonly location: string;
  open(): Promise<StorageDialect>;
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
  throw new Error(`unknown dialect ${name}`);
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
];
