/**
 * SQLite's one write lock between processes: a write waits for another connection's write
 * transaction, and one that outlasts the busy timeout fails retryably with nothing written (never
 * a half-done transaction, never a hang).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { StorageUnavailableError } from '../src/ports/storage.js';
import { createSqlStorage } from '../src/storage/sql-storage.js';
import { openSqliteDialect } from '../src/storage/sqlite/sqlite-dialect.js';
import { temporaryDirectory } from './helpers/test-segue.js';

const BUSY_TIMEOUT_MS = 300;

test('a write that finds the SQLite write lock held past the busy timeout fails retryably and writes nothing; once the lock is free it goes through', async () => {
  const dataDir = temporaryDirectory('segue-sqlite-lock-');
  const storage = createSqlStorage(await openSqliteDialect(dataDir, { busyTimeoutMs: BUSY_TIMEOUT_MS }));
  // Another process's connection, holding the write lock in a transaction of its own.
  const other = new SqliteDatabase(path.join(dataDir, 'segue.db'));
  try {
    other.exec('BEGIN IMMEDIATE');
    const refusedRetryably = (error: unknown) => error instanceof StorageUnavailableError && error.isRetryable && !error.commitUnknown;
    const started = performance.now();
    await assert.rejects(storage.transaction((stores) => stores.settings.set('lock-test', 'in a transaction', 1)), refusedRetryably);
    const waited = performance.now() - started;
    assert.ok(waited >= BUSY_TIMEOUT_MS * 0.9 && waited < 5_000, `it waited for the busy timeout, no longer (${Math.round(waited)} ms)`);
    await assert.rejects(storage.settings.set('lock-test', 'on its own', 1), refusedRetryably);
    other.exec('COMMIT');

    assert.equal(await storage.settings.get('lock-test'), undefined, 'nothing was written');
    await storage.transaction((stores) => stores.settings.set('lock-test', 'after the lock', 2));
    assert.equal(await storage.settings.get('lock-test'), 'after the lock');
  } finally {
    other.close();
    await storage.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
