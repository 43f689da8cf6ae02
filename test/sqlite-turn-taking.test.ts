/**
 * SQLite's driver is synchronous: statements queued on its one connection must still let the
 * event loop turn between them, or timers, sockets and HTTP requests wait for the whole queue.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { createSqlStorage } from '../src/storage/sql-storage.js';
import { openSqliteDialect } from '../src/storage/sqlite/sqlite-dialect.js';
import { temporaryDirectory } from './helpers/test-segue.js';

test('thousands of SQLite statements queued at once let timers run between them', async () => {
  const dataDir = temporaryDirectory('segue-sqlite-turns-');
  const storage = createSqlStorage(await openSqliteDialect(dataDir));
  try {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    let longestMs = 0;
    let last = performance.now();
    const watcher = setInterval(() => {
      longestMs = Math.max(longestMs, performance.now() - last);
      last = performance.now();
    }, 1);
    const started = performance.now();
    // Writes and transactions, as a burst of tasks ending at once makes them.
    await Promise.all(
      Array.from({ length: 600 }, (_, index) =>
        index % 2 === 0
          ? storage.settings.set(`turn-${index}`, 'a value', index)
          : storage.transaction(async (stores) => stores.settings.set(`turn-${index}`, 'in a transaction', index)),
      ),
    );
    const tookMs = performance.now() - started;
    clearInterval(ticker);
    clearInterval(watcher);
    assert.ok(ticks > 0, `timers ran while the statements did (${Math.round(tookMs)} ms of statements)`);
    assert.ok(longestMs < Math.max(250, tookMs / 2), `the loop never stood still for long (${Math.round(longestMs)} ms of ${Math.round(tookMs)})`);
    assert.equal(await storage.settings.get('turn-599'), 'in a transaction');
  } finally {
    await storage.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
