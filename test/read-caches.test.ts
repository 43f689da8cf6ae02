/**
 * What API processes keep in memory (found keys, finished tasks' presented records) never
 * outlives a change: a revoked key is refused at once in the process that revoked it and within
 * a bounded time in another one, and a task is never answered from before a change. "Another
 * process" here is a second, separately opened storage on the same database: its own
 * connections (and, on PostgreSQL, its own notification listener), as another process has.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Task } from '../src/domain/task.js';
import { TaskLifecycle } from '../src/engine/lifecycle/task-lifecycle.js';
import type { Storage } from '../src/ports/storage.js';
import { FinishedTaskRecords } from '../src/services/finished-task-records.js';
import { KeyService } from '../src/services/key-service.js';
import { createSqlStorage } from '../src/storage/sql-storage.js';
import { DIALECTS, type TestDatabase } from './helpers/storage-dialects.js';
import { endTask, storedResult, taskFixture } from './helpers/terminal-tasks.js';
import { waitFor } from './helpers/wait-for.js';

/** How long another process may take to see a change (a notification's way through the database). */
const ACROSS_PROCESSES_MS = 2_000;

async function withTwoProcesses(create: () => Promise<TestDatabase>, work: (here: Storage, there: Storage, database: TestDatabase) => Promise<void>) {
  const database = await create();
  const here = createSqlStorage(await database.open());
  const there = createSqlStorage(await database.open());
  try {
    await work(here, there, database);
  } finally {
    await here.close();
    await there.close();
    await database.drop();
  }
}

/** Until the storage watches other processes' changes (Postgres: its listener is in place). */
async function watching(storage: Storage): Promise<void> {
  await waitFor('the storage to watch changes', () => storage.readChanges.version() !== undefined, { timeoutMs: 10_000, intervalMs: 10 });
}

/** Records answered through `records`, counting the database loads behind them. */
function countingReader(records: FinishedTaskRecords, storage: Storage, apiKeyId: string) {
  let loads = 0;
  return {
    loads: () => loads,
    read: (taskId: string) =>
      records.answer('test.view', apiKeyId, taskId, async (): Promise<Task> => {
        loads++;
        const task = await storage.tasks.findOwned(taskId, apiKeyId);
        if (!task) throw new Error('no such task');
        return task;
      }, (task) => ({ state: task.state, id: task.id })),
  };
}

for (const dialect of DIALECTS) {
  describe(`read caches on ${dialect.name}`, { skip: dialect.skip }, () => {
    test('a key revoked in this process is refused at once; one revoked in another process within a bounded time', async () => {
      await withTwoProcesses(dialect.create, async (here, there) => {
        await watching(here);
        const keysHere = new KeyService(here);
        const keysThere = new KeyService(there);
        const first = await keysHere.create('first', 0);
        const second = await keysHere.create('second', 0);
        // Both found (and kept) here.
        assert.equal((await keysHere.authenticate(first.key))?.id, first.id);
        assert.equal((await keysHere.authenticate(second.key))?.id, second.id);

        await keysHere.revoke(first.id);
        assert.equal(await keysHere.authenticate(first.key), undefined, 'refused by the next request in the same process');

        await keysThere.revoke(second.id);
        const started = Date.now();
        await waitFor('the other process to refuse the key', async () => (await keysHere.authenticate(second.key)) === undefined, {
          timeoutMs: ACROSS_PROCESSES_MS,
          intervalMs: 5,
        });
        assert.ok(Date.now() - started < ACROSS_PROCESSES_MS);
      });
    });

    test('a rotated key value stops at once; the new value works', async () => {
      await withTwoProcesses(dialect.create, async (here, there) => {
        await watching(here);
        const keysHere = new KeyService(here);
        const issued = await keysHere.create('rotating', 0);
        assert.ok(await keysHere.authenticate(issued.key));
        const renewed = await new KeyService(there).rotate(issued.id);
        await waitFor('the old value to be refused', async () => (await keysHere.authenticate(issued.key)) === undefined, {
          timeoutMs: ACROSS_PROCESSES_MS,
          intervalMs: 5,
        });
        assert.equal((await keysHere.authenticate(renewed))?.id, issued.id);
      });
    });

    test('a finished task is answered without the database until it changes; an unfinished one is never kept', async () => {
      await withTwoProcesses(dialect.create, async (here, there) => {
        await watching(here);
        const key = await new KeyService(here).create('reader', 0);
        const records = new FinishedTaskRecords(here.readChanges, () => 1);
        const reader = countingReader(records, here, key.id);

        // Unfinished: read from the database every time, so its end is seen by the next read.
        const running = taskFixture({ apiKeyId: key.id });
        await here.tasks.insert(running);
        assert.equal((await reader.read(running.id)).state, 'running');
        assert.equal((await reader.read(running.id)).state, 'running');
        assert.equal(reader.loads(), 2);
        await new TaskLifecycle(there).succeed(running, storedResult(running.id));
        assert.equal((await reader.read(running.id)).state, 'succeeded', 'never answered from before the change');
        assert.equal(reader.loads(), 3);

        // Finished: kept.
        const finished = await endTask(here, key.id, 'http://127.0.0.1:9/unused');
        await reader.read(finished.id);
        const loadsBefore = reader.loads();
        for (let index = 0; index < 5; index++) assert.equal((await reader.read(finished.id)).state, 'succeeded');
        assert.equal(reader.loads(), loadsBefore, 'answered from what was kept');

        // Deleted in another process: the next reads go to the database and find nothing.
        assert.ok(await there.tasks.markDeleted(finished.id, key.id, Date.now()));
        await waitFor('the deletion to be seen', async () => {
          try {
            await reader.read(finished.id);
            return false;
          } catch (error) {
            return (error as Error).message === 'no such task';
          }
        }, { timeoutMs: ACROSS_PROCESSES_MS, intervalMs: 5 });
      });
    });
  });
}

describe('read caches on postgres, notification connection cut', { skip: DIALECTS.find((entry) => entry.name === 'postgres')!.skip }, () => {
  test('nothing is kept while the notification connection is down; a revocation made meanwhile is seen', async () => {
    const postgres = DIALECTS.find((entry) => entry.name === 'postgres')!;
    await withTwoProcesses(postgres.create, async (here, there, database) => {
      await watching(here);
      const keysHere = new KeyService(here);
      const issued = await keysHere.create('cut', 0);
      assert.ok(await keysHere.authenticate(issued.key));
      // Every connection goes (as in a database restart); the revocation is made by the other process right after.
      await database.cutConnections!();
      await waitFor('the revocation to be written', async () => {
        try {
          await new KeyService(there).revoke(issued.id);
          return true;
        } catch {
          return false;
        }
      }, { timeoutMs: 10_000, intervalMs: 20 });
      await waitFor('the key to be refused here', async () => {
        try {
          return (await keysHere.authenticate(issued.key)) === undefined;
        } catch {
          return false;
        }
      }, { timeoutMs: 3_000, intervalMs: 20 });
    });
  });
});

describe('read caches (any dialect)', () => {
  test('a kept record is presented again once the link window moves (its links would be shorter-lived than new ones)', async () => {
    const sqlite = DIALECTS.find((entry) => entry.name === 'sqlite')!;
    await withTwoProcesses(sqlite.create, async (here) => {
      const key = await new KeyService(here).create('reader', 0);
      let window = 1;
      const reader = countingReader(new FinishedTaskRecords(here.readChanges, () => window), here, key.id);
      const finished = await endTask(here, key.id, 'http://127.0.0.1:9/unused');
      await reader.read(finished.id);
      await reader.read(finished.id);
      assert.equal(reader.loads(), 1);
      window = 2;
      await reader.read(finished.id);
      assert.equal(reader.loads(), 2);
    });
  });

  test('a transaction that changed a key and rolled back leaves no kept key matching a later change (SQLite, one connection)', async () => {
    const sqlite = DIALECTS.find((entry) => entry.name === 'sqlite')!;
    await withTwoProcesses(sqlite.create, async (here) => {
      const keys = new KeyService(here);
      const issued = await keys.create('rolled', 0);
      assert.ok(await keys.authenticate(issued.key));
      const before = here.readChanges.version();
      await assert.rejects(
        here.transaction(async (stores) => {
          await stores.keys.setWebhookUrl(issued.id, 'https://example.com/hook');
          throw new Error('abandoned');
        }),
      );
      const afterRollback = here.readChanges.version()!;
      assert.notEqual(afterRollback, before);
      // Revoked straight in the database (no service to say so): the trigger's count is what tells.
      await here.keys.revoke(issued.id, Date.now());
      assert.ok(here.readChanges.version()! > afterRollback, 'the count never goes back');
      assert.equal(await keys.authenticate(issued.key), undefined);
    });
  });
});
