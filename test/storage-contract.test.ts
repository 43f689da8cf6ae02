/**
 * The storage contract: what every storage dialect guarantees, checked on each one in DIALECTS
 * (a dialect that cannot run here is skipped with its reason). Races run in separate processes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ProviderGate } from '../src/engine/routing/provider-gate.js';
import { TaskBatchReader } from '../src/engine/runner/task-batch-reader.js';
import { jobRequest } from '../src/jobs/job-kinds.js';
import type { Storage } from '../src/ports/storage.js';
import { SqlJobQueue } from '../src/storage/job-queue-sql.js';
import { createSqlStorage } from '../src/storage/sql-storage.js';
import { DIALECTS, type TestDatabase } from './helpers/storage-dialects.js';
import { taskFixture } from './helpers/terminal-tasks.js';
import { temporaryDirectory } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

const raceWorker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'storage-race-worker.js');
const run = promisify(execFile);

/** Starts `count` processes doing the same operation on the same database at once; answers what each won. */
async function race(dialect: string, database: TestDatabase, count: number, operation: string, args: (index: number) => string[]): Promise<string[][]> {
  const runs = Array.from({ length: count }, (_, index) =>
    run(process.execPath, [raceWorker, dialect, database.location, operation, ...args(index)], { timeout: 60_000 }),
  );
  return (await Promise.all(runs)).map(({ stdout }) => JSON.parse(stdout.trim().split('\n').pop()!) as string[]);
}

async function withDatabase(create: () => Promise<TestDatabase>, work: (database: TestDatabase, storage: Storage) => Promise<void>) {
  const database = await create();
  const storage = createSqlStorage(await database.open());
  try {
    await work(database, storage);
  } finally {
    await storage.close();
    await database.drop();
  }
}

async function newKey(storage: Storage, id: string, credits: number) {
  await storage.transaction(async (stores) => {
    await stores.keys.insert({ id, name: id, keyHash: `hash-${id}`, prefix: id.slice(0, 12), webhookSecret: 'whsec_x', createdAt: Date.now() });
    await stores.ledger.append({ apiKeyId: id, kind: 'grant', amount: credits });
  });
}

for (const dialect of DIALECTS) {
  describe(`storage contract: ${dialect.name}`, { skip: dialect.skip }, () => {
    test('several processes opening a fresh database at once all migrate it safely', async () => {
      const database = await dialect.create();
      try {
        await race(dialect.name, database, 3, 'open', () => []);
        const storage = createSqlStorage(await database.open());
        await newKey(storage, 'key-fresh', 5);
        assert.equal(await storage.ledger.balance('key-fresh'), 5);
        await storage.close();
      } finally {
        await database.drop();
      }
    });

    test('racing processes never claim the same job, and every due job is claimed', async () => {
      await withDatabase(dialect.create, async (database, storage) => {
        for (let index = 0; index < 120; index++) await storage.jobs.enqueue(jobRequest('task.start', { taskId: `t${index}` }));
        const won = (await race(dialect.name, database, 3, 'claim', () => [])).flat();
        assert.equal(won.length, 120);
        assert.equal(new Set(won).size, 120, 'no job claimed twice');
      });
    });

    test('racing processes never fill a provider entry past its slots', async () => {
      await withDatabase(dialect.create, async (database, storage) => {
        await newKey(storage, 'key-slots', 0);
        const ids = Array.from({ length: 30 }, (_, index) => `slot-task-${index}`);
        for (const id of ids) await storage.tasks.insert(taskFixture({ id, apiKeyId: 'key-slots', state: 'queued', provider: 'queue', startedAt: null }));
        const won = (await race(dialect.name, database, 3, 'slot', (index) => ['entry-a', '4', ...ids.filter((_, i) => i % 3 === index)])).flat();
        assert.equal(won.length, 4, `exactly the 4 slots were taken (${won.length})`);
        const running = await storage.tasks.listByState('running', 100);
        assert.equal(running.filter((task) => task.provider === 'entry-a').length, 4);
      });
    });

    test('racing holds never overspend a balance', async () => {
      await withDatabase(dialect.create, async (database, storage) => {
        await newKey(storage, 'key-money', 10);
        const won = (await race(dialect.name, database, 3, 'hold', (index) => ['key-money', '1', ...Array.from({ length: 8 }, (_, i) => `hold-${index}-${i}`)])).flat();
        assert.equal(won.length, 10, 'ten holds of 1 credit fit in 10 credits');
        assert.equal(await storage.ledger.balance('key-money'), 0);
        assert.equal(await storage.ledger.ledgerSum('key-money'), 0, 'the running balance equals the ledger');
      });
    });

    test('a write transaction’s reads hold until it commits: racing read-then-write transactions never overspend', async () => {
      await withDatabase(dialect.create, async (database, storage) => {
        await newKey(storage, 'key-spend', 10);
        const won = (await race(dialect.name, database, 3, 'spend', (index) => ['key-spend', '1', ...Array.from({ length: 8 }, (_, i) => `spend-${index}-${i}`)])).flat();
        assert.equal(won.length, 10, 'ten spends of 1 credit fit in 10 credits');
        assert.equal(await storage.ledger.balance('key-spend'), 0);
        assert.equal(await storage.ledger.ledgerSum('key-spend'), 0);
      });
    });

    test('transactions one at a time under a name: racing processes that count and then insert stop exactly at the cap', async () => {
      await withDatabase(dialect.create, async (database, storage) => {
        await newKey(storage, 'key-capped', 0);
        const barrier = temporaryDirectory('segue-race-barrier-');
        const won = (await race(dialect.name, database, 3, 'capped-insert', (index) => [barrier, '3', 'key-capped', '60', ...Array.from({ length: 40 }, (_, i) => `capped-${index}-${i}`)])).flat();
        fs.rmSync(barrier, { recursive: true, force: true });
        assert.equal(won.length, 60, 'each one saw what the one before it committed');
        assert.equal(await storage.tasks.countUnfinished('key-capped'), 60);
      });
    });

    test('racing processes take each idempotency key once', async () => {
      await withDatabase(dialect.create, async (database, storage) => {
        await newKey(storage, 'key-race-idem', 0);
        const keys = Array.from({ length: 20 }, (_, index) => `retry-${index}`);
        const won = (await race(dialect.name, database, 3, 'idempotency', () => ['key-race-idem', ...keys])).flat();
        assert.deepEqual(won.sort(), [...keys].sort(), 'each key taken by exactly one process');
      });
    });

    test('a task round-trips: a seed past 32 bits, fractional seconds, a boolean, JSON', async () => {
      await withDatabase(dialect.create, async (_database, storage) => {
        await newKey(storage, 'key-round', 0);
        const result = { videoKey: 'v', segmentKey: null, posterKey: 'p', durationSeconds: 8.041667, width: 1280, height: 720, fps: 23.976, hasAudio: true };
        await storage.tasks.insert(taskFixture({ id: 'round-1', apiKeyId: 'key-round', seed: 4_294_967_295, price: 2 ** 40, providerHandle: { name: 'op/1', nested: [1, 'two'] } }));
        assert.equal(await storage.tasks.transition('round-1', 'running', { to: 'succeeded', at: 1, progress: 100, result, engineDetails: { method: 'native' } }), true);
        const task = await storage.tasks.findById('round-1');
        assert.deepEqual([task?.seed, task?.price, task?.providerHandle, task?.engineDetails], [4_294_967_295, 2 ** 40, { name: 'op/1', nested: [1, 'two'] }, { method: 'native' }]);
        assert.deepEqual(task?.result, result);
        await storage.tasks.insert(taskFixture({ id: 'round-2', apiKeyId: 'key-round' }));
        await storage.tasks.transition('round-2', 'running', { to: 'succeeded', at: 1, result: { ...result, hasAudio: false } });
        assert.equal((await storage.tasks.findById('round-2'))?.result?.hasAudio, false);
      });
    });

    test('tasks read many at once are those a lookup of each reads; lookups asked together share one query', async () => {
      await withDatabase(dialect.create, async (_database, storage) => {
        await newKey(storage, 'key-many', 0);
        const ids = Array.from({ length: 300 }, (_, index) => `many-${index}`);
        for (const id of ids) await storage.tasks.insert(taskFixture({ id, apiKeyId: 'key-many', providerHandle: { operation: `op/${id}` } }));
        const asked = [...ids.slice(0, 270), 'many-missing', 'many-5', ...ids.slice(270)];
        const many = await storage.tasks.findManyById(asked);
        assert.equal(many.length, 300, 'every existing task once: the unknown id is left out, a repeated id is read once');
        for (const task of many) assert.deepEqual(task, await storage.tasks.findById(task.id));
        assert.deepEqual((await storage.tasks.findManyById(['many-7'])).map((task) => task.id), ['many-7']);

        let queries = 0;
        const reader = new TaskBatchReader({
          findById: (id) => (queries++, storage.tasks.findById(id)),
          findManyById: (wanted) => (queries++, storage.tasks.findManyById(wanted)),
        });
        const read = await Promise.all(['many-1', 'many-2', 'many-missing', 'many-1'].map((id) => reader.find(id)));
        assert.deepEqual(read.map((task) => task?.providerHandle), [{ operation: 'op/many-1' }, { operation: 'op/many-2' }, undefined, { operation: 'op/many-1' }]);
        assert.equal(queries, 1, 'one query for the four lookups asked together');
        assert.equal((await reader.find('many-3'))?.id, 'many-3');
        assert.equal(queries, 2);
      });
    });

    test('a task records what it was pinned to with its handle (entry, credential identity, region, upstream model); unpinned tasks have none', async () => {
      await withDatabase(dialect.create, async (_database, storage) => {
        await newKey(storage, 'key-pin', 0);
        await storage.tasks.insert(taskFixture({ id: 'pin-1', apiKeyId: 'key-pin', providerHandle: null }));
        await storage.tasks.insert(taskFixture({ id: 'pin-2', apiKeyId: 'key-pin', providerHandle: null }));
        const pinning = { entry: 'vertex-eu', credential: 'segue@p.iam.gserviceaccount.com', region: 'europe-west4', upstreamModel: 'veo-3.1-generate-001' };
        await storage.tasks.saveProviderHandle('pin-1', { operation: 'projects/p/op/1' }, pinning);
        await storage.tasks.saveProviderHandle('pin-2', { operation: 'models/m/operations/2' }, { ...pinning, entry: 'google', credential: 'sha256:0123456789ab', region: null });
        const [first, second] = [await storage.tasks.findById('pin-1'), await storage.tasks.findById('pin-2')];
        assert.deepEqual([first?.providerHandle, first?.pinning], [{ operation: 'projects/p/op/1' }, pinning]);
        assert.deepEqual(second?.pinning, { entry: 'google', credential: 'sha256:0123456789ab', region: null, upstreamModel: 'veo-3.1-generate-001' });
        await storage.tasks.insert(taskFixture({ id: 'pin-3', apiKeyId: 'key-pin' }));
        assert.equal((await storage.tasks.findById('pin-3'))?.pinning, undefined);
      });
    });

    test('a task keeps its dialect; a deleted task is hidden from its key\'s reads; lists page both ways', async () => {
      await withDatabase(dialect.create, async (_database, storage) => {
        await newKey(storage, 'key-reads', 0);
        for (const [index, id] of ['read-1', 'read-2', 'read-3'].entries()) {
          await storage.tasks.insert(taskFixture({ id, apiKeyId: 'key-reads', dialect: index === 0 ? 'openai' : 'veo', createdAt: 1000 + index, parentTaskId: index === 2 ? 'read-1' : null, state: index === 2 ? 'running' : 'succeeded' }));
        }
        assert.equal((await storage.tasks.findById('read-1'))?.dialect, 'openai');
        const ids = async (order: 'asc' | 'desc', after?: string) =>
          (await storage.tasks.listOwned('key-reads', { limit: 2, order, ...(after ? { after: (await storage.tasks.findById(after))! } : {}) })).map((task) => task.id);
        assert.deepEqual([await ids('desc'), await ids('desc', 'read-2'), await ids('asc'), await ids('asc', 'read-2')], [['read-3', 'read-2'], ['read-1'], ['read-1', 'read-2'], ['read-3']]);
        assert.equal(await storage.tasks.hasUnfinishedChildren('read-1'), true);
        assert.equal(await storage.tasks.hasUnfinishedChildren('read-2'), false);
        assert.equal(await storage.tasks.markDeleted('read-2', 'another-key', 5), false, "only the task's own key deletes it");
        assert.equal(await storage.tasks.markDeleted('read-2', 'key-reads', 5), true);
        assert.equal(await storage.tasks.markDeleted('read-2', 'key-reads', 6), false, 'once');
        assert.equal(await storage.tasks.findOwned('read-2', 'key-reads'), undefined);
        assert.equal(await storage.tasks.findOwnedByKeyHash('read-2', 'hash-key-reads'), undefined);
        assert.ok(await storage.tasks.findOwnedByKeyHash('read-1', 'hash-key-reads'));
        assert.deepEqual(await ids('desc'), ['read-3', 'read-1']);
        assert.equal((await storage.tasks.findById('read-2'))?.id, 'read-2', 'the row stays for the ledger and operators');
      });
    });

    test('filtered lists across keys (the dashboard): by key, state and operation, paged; children but the deleted', async () => {
      await withDatabase(dialect.create, async (_database, storage) => {
        await newKey(storage, 'key-one', 0);
        await newKey(storage, 'key-two', 0);
        const rows = [
          ['f-1', 'key-one', 'generate', 'succeeded', null],
          ['f-2', 'key-two', 'generate', 'failed', null],
          ['f-3', 'key-one', 'extend', 'running', 'f-1'],
          ['f-4', 'key-one', 'extend', 'reconciling', 'f-1'],
        ] as const;
        for (const [index, [id, apiKeyId, operation, state, parentTaskId]] of rows.entries()) {
          await storage.tasks.insert(taskFixture({ id, apiKeyId, operation, state, parentTaskId, createdAt: 2000 + index }));
        }
        const ids = async (filter: Parameters<Storage['tasks']['listFiltered']>[0], limit = 10, after?: string) =>
          (await storage.tasks.listFiltered(filter, { limit, ...(after ? { after: (await storage.tasks.findById(after))! } : {}) })).map((task) => task.id);
        assert.deepEqual(await ids({}), ['f-4', 'f-3', 'f-2', 'f-1']);
        assert.deepEqual(await ids({ apiKeyId: 'key-one' }), ['f-4', 'f-3', 'f-1']);
        assert.deepEqual(await ids({ states: ['running', 'reconciling'] }), ['f-4', 'f-3']);
        assert.deepEqual(await ids({ apiKeyId: 'key-two', operation: 'extend' }), []);
        assert.deepEqual([await ids({}, 2), await ids({}, 2, 'f-3')], [['f-4', 'f-3'], ['f-2', 'f-1']]);
        assert.deepEqual((await storage.tasks.listChildren('f-1')).map((task) => task.id), ['f-3', 'f-4']);
        await storage.tasks.markDeleted('f-3', 'key-one', 5);
        assert.deepEqual((await storage.tasks.listChildren('f-1')).map((task) => task.id), ['f-4']);
        assert.deepEqual(await ids({ apiKeyId: 'key-one' }), ['f-4', 'f-1'], "a key's own list leaves its deleted tasks out");
        assert.deepEqual(await ids({}), ['f-4', 'f-3', 'f-2', 'f-1'], 'operators still see every row');
      });
    });

    test('a job enqueued through one storage wakes a listener on another connection, without polling', { timeout: 20_000 }, async (t) => {
      await withDatabase(dialect.create, async (database, storage) => {
        const other = await database.open();
        if (!other.notifications) {
          await other.close();
          return t.skip(`${dialect.name} has no notifications between processes: workers find jobs at their next poll`);
        }
        const listening = createSqlStorage(other);
        try {
          let wake!: () => void;
          const woken = new Promise<void>((resolve) => (wake = resolve));
          await listening.onJobEnqueued(() => wake());
          await storage.transaction((stores) => stores.jobs.enqueue(jobRequest('task.start', { taskId: 'notified' })));
          await woken;
        } finally {
          await listening.close();
        }
      });
    });

    test('connections cut while in use: the transaction under way runs again, the next operations succeed, the process stays up', { timeout: 60_000 }, async (t) => {
      await withDatabase(dialect.create, async (database, storage) => {
        if (!database.cutConnections) return t.skip(`${dialect.name} has no connections to cut`);
        const listening = createSqlStorage(await database.open());
        try {
          await newKey(storage, 'key-cut', 10);
          let wakes = 0;
          await listening.onJobEnqueued(() => wakes++);
          let cut!: () => void;
          const connectionsCut = new Promise<void>((resolve) => (cut = resolve));
          let begun!: () => void;
          const underWay = new Promise<void>((resolve) => (begun = resolve));
          let runs = 0;
          const holding = storage.transaction(async (stores) => {
            runs++;
            const held = await stores.ledger.holdIfCovered('key-cut', 'task-cut', 3);
            begun();
            await connectionsCut;
            return held && (await stores.ledger.balance('key-cut')) === 7;
          });
          await underWay;
          await database.cutConnections();
          cut();
          assert.equal(await holding, true, 'the transaction committed on a new connection');
          assert.ok(runs >= 2, 'its first run was lost with its connection, and it ran again');
          assert.equal(await storage.ledger.balance('key-cut'), 7, 'held once');
          await waitFor('the listener to reconnect (it wakes its listeners once, for what it missed)', () => wakes > 0, { timeoutMs: 20_000, intervalMs: 20 });
          const before = wakes;
          await storage.jobs.enqueue(jobRequest('task.start', { taskId: 'after-cut' }));
          assert.deepEqual((await storage.jobs.claim('worker-after-cut', ['task.start'], 30_000))?.payload, { taskId: 'after-cut' });
          await waitFor('a notification after reconnecting', () => wakes > before, { timeoutMs: 20_000, intervalMs: 20 });
        } finally {
          await listening.close();
        }
      });
    });

    test('money moves once per task: a second hold, capture or release is refused', async () => {
      await withDatabase(dialect.create, async (_database, storage) => {
        await newKey(storage, 'key-once', 100);
        assert.equal(await storage.transaction((stores) => stores.ledger.holdIfCovered('key-once', 'task-1', 30)), true);
        await assert.rejects(storage.transaction((stores) => stores.ledger.holdIfCovered('key-once', 'task-1', 30)));
        await storage.transaction((stores) => stores.ledger.append({ apiKeyId: 'key-once', kind: 'release', amount: 30, taskId: 'task-1' }));
        await assert.rejects(storage.transaction((stores) => stores.ledger.append({ apiKeyId: 'key-once', kind: 'release', amount: 30, taskId: 'task-1' })));
        assert.equal(await storage.ledger.balance('key-once'), 100, 'a refused entry moved nothing');
        assert.equal(await storage.ledger.ledgerSum('key-once'), 100);
      });
    });

    test('deliveries are read with their tasks and signing secrets in one go, never with another key\'s task', async () => {
      await withDatabase(dialect.create, async (_database, storage) => {
        await newKey(storage, 'key-own', 0);
        await newKey(storage, 'key-other', 0);
        const own = taskFixture({ apiKeyId: 'key-own', callbackUrl: 'https://example.com/hook' });
        const others = taskFixture({ apiKeyId: 'key-other' });
        await storage.tasks.insert(own);
        await storage.tasks.insert(others);
        await storage.callbacks.add({ id: 'dlv-own', taskId: own.id, apiKeyId: 'key-own', url: 'https://example.com/hook', event: 'task.succeeded' }, 1_000);
        // A delivery of key-own pointing at key-other's task (never written by Segue) must not be sent.
        await storage.callbacks.add({ id: 'dlv-crossed', taskId: others.id, apiKeyId: 'key-own', url: 'https://example.com/hook', event: 'task.succeeded' }, 1_000);
        const found = await storage.callbacks.findToSend(['dlv-own', 'dlv-crossed', 'dlv-missing', 'dlv-own']);
        assert.deepEqual([...found.keys()], ['dlv-own']);
        const { delivery, task, signing } = found.get('dlv-own')!;
        assert.deepEqual(delivery, await storage.callbacks.find('dlv-own'));
        assert.deepEqual(task, await storage.tasks.findById(own.id));
        const key = (await storage.keys.findById('key-own'))!;
        assert.deepEqual(signing, {
          webhookSecret: key.webhookSecret,
          previousWebhookSecret: key.previousWebhookSecret,
          previousWebhookSecretExpiresAt: key.previousWebhookSecretExpiresAt,
          veoHmacKey: key.veoHmacKey,
        });
        assert.equal((await storage.callbacks.findToSend([])).size, 0);
      });
    });

    test('a claimed job is leased to one worker; a dead worker’s lease is an interruption, not an attempt', async () => {
      await withDatabase(dialect.create, async (database) => {
        const opened = await database.open();
        let clock = 1_000_000;
        const queue = new SqlJobQueue(opened.db, opened, () => {}, () => clock);
        try {
          await queue.enqueue(jobRequest('task.poll', { taskId: 'b' }));
          await queue.enqueue(jobRequest('task.poll', { taskId: 'b' }));
          const first = await queue.claim('worker-1', ['task.poll'], 30_000);
          assert.equal(first?.attempts, 1);
          assert.equal(await queue.claim('worker-2', ['task.poll'], 30_000), undefined, 'one job per key, and a leased job is not claimable');
          assert.deepEqual(await queue.liveLeaseOwners(), new Set(['worker-1']));
          clock += 31_000;
          const second = await queue.claim('worker-2', ['task.poll'], 30_000);
          assert.equal(second?.id, first!.id);
          assert.deepEqual([second?.attempts, second?.interruptions], [1, 1]);
          assert.equal(await queue.complete(first!.id, 'worker-1'), false, 'the old owner cannot complete it');
          assert.equal(await queue.heartbeat(first!.id, 'worker-1', 30_000), false, 'the old owner learns it lost the lease');
          assert.equal(await queue.complete(second!.id, 'worker-2'), true);
        } finally {
          await opened.close();
        }
      });
    });

    test('completing several jobs at once completes only those the worker still holds', async () => {
      await withDatabase(dialect.create, async (database) => {
        const opened = await database.open();
        const queue = new SqlJobQueue(opened.db, opened);
        try {
          for (const taskId of ['x', 'y', 'z']) await queue.enqueue(jobRequest('task.poll', { taskId }));
          const mine = await queue.claimBatch('worker-1', ['task.poll'], 30_000, 2);
          const theirs = (await queue.claim('worker-2', ['task.poll'], 30_000))!;
          assert.equal(await queue.completeMany([...mine.map((job) => job.id), theirs.id], 'worker-1'), 2);
          for (const job of mine) assert.equal((await queue.findByKey(job.idempotencyKey!))?.state, 'succeeded');
          assert.equal((await queue.findByKey(theirs.idempotencyKey!))?.state, 'running', 'another worker\'s job is left alone');
          assert.equal(await queue.completeMany([], 'worker-1'), 0);
        } finally {
          await opened.close();
        }
      });
    });

    test('claims filter by kind and respect run_at; retry-after gives the attempt back; wake makes a job due', async () => {
      await withDatabase(dialect.create, async (database) => {
        const opened = await database.open();
        let clock = 1_000_000;
        const queue = new SqlJobQueue(opened.db, opened, () => {}, () => clock);
        try {
          await queue.enqueue(jobRequest('task.poll', { taskId: 'c' }, { runAt: clock + 10_000 }));
          await queue.enqueue(jobRequest('local.render', { taskId: 'c' }));
          assert.equal(await queue.claim('w', ['task.poll'], 1000), undefined, 'not due yet');
          assert.equal(await queue.nextRunAt(['task.poll']), clock + 10_000);
          const render = await queue.claim('w', ['local.render'], 1000);
          assert.equal(render?.kind, 'local.render');
          await queue.reschedule(render!.id, 'w', clock + 500, { spendAttempt: false });
          clock += 600;
          assert.equal((await queue.claim('w', ['local.render'], 1000))?.attempts, 1, 'retry-after did not spend an attempt');
          await queue.wake('task.poll:c');
          assert.equal((await queue.claim('w', ['task.poll'], 1000))?.kind, 'task.poll', 'wake made the poll due now');
        } finally {
          await opened.close();
        }
      });
    });

    test('batched claims take distinct due jobs; one statement extends a worker’s leases; held jobs are woken and released', async () => {
      await withDatabase(dialect.create, async (database) => {
        const opened = await database.open();
        let clock = 1_000_000;
        const queue = new SqlJobQueue(opened.db, opened, () => {}, () => clock);
        try {
          for (let index = 0; index < 5; index++) await queue.enqueue(jobRequest('task.poll', { taskId: `batch-${index}` }, { runAt: clock - 10 + index }));
          await queue.enqueue(jobRequest('task.poll', { taskId: 'later' }, { runAt: clock + 60_000 }));
          const first = await queue.claimBatch('w1', ['task.poll'], 30_000, 3);
          assert.deepEqual(first.map((job) => (job.payload as { taskId: string }).taskId), ['batch-0', 'batch-1', 'batch-2'], 'earliest due first');
          const second = await queue.claimBatch('w2', ['task.poll'], 30_000, 10);
          assert.deepEqual(second.map((job) => (job.payload as { taskId: string }).taskId), ['batch-3', 'batch-4'], 'only what is due and not leased');

          clock += 20_000;
          assert.deepEqual(await queue.extendLeases('w1', 30_000), new Set(first.map((job) => job.id)));
          clock += 20_000;
          // w1 kept its leases alive; w2 did not, so its jobs can be taken over.
          const takenOver = await queue.claimBatch('w3', ['task.poll'], 30_000, 10);
          assert.deepEqual(new Set(takenOver.map((job) => job.id)), new Set(second.map((job) => job.id)), 'a job not yet due is not taken');
          assert.deepEqual(await queue.extendLeases('w2', 30_000), new Set(), 'w2 learns it holds nothing');

          await queue.wake('task.poll:batch-1');
          assert.deepEqual(await queue.takeWoken('w1'), [first[1]!.id], 'a wake reaches the worker that holds the job');
          assert.deepEqual(await queue.takeWoken('w1'), [], 'once');

          await queue.release('w1', [{ jobId: first[0]!.id, runAt: clock + 5_000 }, { jobId: first[2]!.id, runAt: clock }]);
          const released = await queue.findByKey('task.poll:batch-0');
          assert.deepEqual([released?.state, released?.runAt, released?.leaseOwner, released?.attempts], ['queued', clock + 5_000, null, 0], 'due when it would have run, attempt given back');
          assert.equal((await queue.claim('w4', ['task.poll'], 30_000))?.id, first[2]!.id);
          assert.equal(await queue.release('w9', [{ jobId: first[1]!.id, runAt: clock }]), undefined);
          assert.equal((await queue.findByKey('task.poll:batch-1'))?.leaseOwner, 'w1', 'a worker cannot release what it does not hold');
        } finally {
          await opened.close();
        }
      });
    });

    test('two processes claiming batches at once never take the same job', async () => {
      await withDatabase(dialect.create, async (database, storage) => {
        for (let index = 0; index < 60; index++) await storage.jobs.enqueue(jobRequest('task.poll', { taskId: `race-batch-${index}` }));
        const won = (await race(dialect.name, database, 3, 'claim-batch', () => [])).flat();
        assert.equal(won.length, 60, 'every job claimed');
        assert.equal(new Set(won).size, 60, 'none twice');
      });
    });

    test('racing processes never exceed a rate: one window per key, whatever the number of processes', async () => {
      await withDatabase(dialect.create, async (database, storage) => {
        const at = 5_000_000;
        const won = (await race(dialect.name, database, 3, 'rate', () => ['create:key-race', '7', String(at), '5'])).flat();
        assert.equal(won.length, 7, `exactly the 7 admissions of the window were given (${won.length})`);
        const refused = await storage.rateWindows.admit('create:key-race', { count: 7, windowMs: 3_600_000 }, at + 1_000);
        assert.deepEqual(refused, { retryAfterMs: 3_600_000 - 1_000 }, 'refused until the oldest admission leaves the window');
      });
    });

    test('a rate window slides: admissions leave it one by one, a withdrawn one frees its place, the sweep forgets old ones', async () => {
      await withDatabase(dialect.create, async (_database, storage) => {
        const limit = { count: 2, windowMs: 10_000 };
        const first = await storage.rateWindows.admit('create:k', limit, 1_000);
        assert.ok('admission' in first);
        assert.ok('admission' in (await storage.rateWindows.admit('create:k', limit, 4_000)));
        assert.deepEqual(await storage.rateWindows.admit('create:k', limit, 9_000), { retryAfterMs: 2_000 });
        assert.ok('admission' in (await storage.rateWindows.admit('create:other', limit, 9_000)), 'keys have their own windows');
        assert.ok('admission' in (await storage.rateWindows.admit('create:k', limit, 11_001)), 'the first left the window');
        assert.deepEqual(await storage.rateWindows.admit('create:k', limit, 11_002), { retryAfterMs: 2_998 });
        const third = await storage.rateWindows.admit('create:k', limit, 14_001);
        assert.ok('admission' in third);
        await storage.rateWindows.withdraw(third.admission);
        assert.ok('admission' in (await storage.rateWindows.admit('create:k', limit, 14_002)), 'a withdrawn admission frees its place');
        assert.equal(await storage.rateWindows.sweep(14_000), 2, 'the two admissions whose window ended by then');
      });
    });

    test('one breaker per entry: failures from racing processes open it for every process; one trial after the cool-down', async () => {
      await withDatabase(dialect.create, async (database, storage) => {
        const limits = { maxConcurrent: 10, breakerThreshold: 5, breakerCooldownSeconds: 30 };
        const at = 7_000_000;
        const gate = (time: number) => new ProviderGate('entry-b', limits, storage.gates, () => time);
        assert.equal(await gate(at).isOpen(), false);
        await race(dialect.name, database, 3, 'gate', () => ['entry-b', JSON.stringify(limits), 'failure', String(at), '2']);
        assert.equal(await gate(at).isOpen(), true, 'six failures in three processes opened the one breaker');
        const report = gate(at).reportOf((await storage.gates.all()).get('entry-b'));
        assert.deepEqual([report.breaker, report.consecutiveFailures], ['open', 6]);
        assert.equal(await gate(at + 1_000).waitBeforeRequest(), 29_000, 'this process waits out the cool-down too');
        const trials = (await race(dialect.name, database, 3, 'gate', () => ['entry-b', JSON.stringify(limits), 'request', String(at + 30_000), '2'])).flat();
        assert.equal(trials.length, 1, 'exactly one trial went through, across processes');
        await gate(at + 31_000).recordSuccess();
        assert.equal(await gate(at + 31_000).isOpen(), false);
        assert.equal(await gate(at + 31_000).waitBeforeRequest(), 0, 'closed for every process');
      });
    });

    test('an entry\'s request rate is one token bucket for every process', async () => {
      await withDatabase(dialect.create, async (database) => {
        const limits = { maxConcurrent: 10, requestsPerMinute: 4, breakerThreshold: 5, breakerCooldownSeconds: 30 };
        const won = (await race(dialect.name, database, 3, 'gate', () => ['entry-r', JSON.stringify(limits), 'request', '9000000', '3'])).flat();
        assert.equal(won.length, 4, `the bucket's 4 tokens were taken once each (${won.length})`);
      });
    });

    test('parked jobs wake oldest first, each once, even when processes wake at once', async () => {
      await withDatabase(dialect.create, async (database) => {
        const opened = await database.open();
        // Real time: the racing processes wake by their own clocks.
        let clock = Date.now();
        const parkedUntil = clock + 3_600_000;
        const queue = new SqlJobQueue(opened.db, opened, () => {}, () => clock);
        try {
          for (let index = 0; index < 5; index++) {
            clock += 10;
            await queue.enqueue(jobRequest('task.start', { taskId: `parked-${index}` }));
            const job = await queue.claim('w', ['task.start'], 30_000);
            assert.equal(job?.payload && (job.payload as { taskId: string }).taskId, `parked-${index}`);
            await queue.reschedule(job!.id, 'w', parkedUntil, { spendAttempt: false, waitingFor: 'provider-slot:x' });
          }
          await queue.enqueue(jobRequest('task.start', { taskId: 'other-entry' }));
          await queue.reschedule((await queue.claim('w', ['task.start'], 30_000))!.id, 'w', parkedUntil, { spendAttempt: false, waitingFor: 'provider-slot:y' });
          const due = async (taskId: string) => (await queue.findByKey(`task.start:${taskId}`))!.runAt < parkedUntil;
          assert.equal(await queue.wakeOldestWaiting('provider-slot:x'), true);
          assert.deepEqual(await Promise.all([0, 1].map((index) => due(`parked-${index}`))), [true, false], 'the oldest woke');
          const woken = (await race(dialect.name, database, 3, 'wake', () => ['provider-slot:x'])).flat();
          assert.equal(woken.length, 3, 'three wakes at once woke three jobs');
          assert.deepEqual(await Promise.all([1, 2, 3, 4].map((index) => due(`parked-${index}`))), [true, true, true, false]);
          assert.equal(await due('other-entry'), false, 'another name\'s jobs stay parked');
          assert.equal(await queue.wakeOldestWaiting('provider-slot:x'), true);
          assert.equal(await queue.wakeOldestWaiting('provider-slot:x'), false, 'none left');
        } finally {
          await opened.close();
        }
      });
    });

    test('an idempotency key is taken once while fresh, and again once stale', async () => {
      await withDatabase(dialect.create, async (_database, storage) => {
        await newKey(storage, 'key-idem', 0);
        const request = { key: 'retry-1', fingerprint: 'f1' };
        assert.equal(await storage.idempotency.claim('key-idem', request, 'task-a', 1000, 0), true);
        assert.equal(await storage.idempotency.claim('key-idem', request, 'task-b', 2000, 0), false, 'fresh: held by the first');
        assert.deepEqual(await storage.idempotency.find('key-idem', 'retry-1', 0), { fingerprint: 'f1', taskId: 'task-a' });
        assert.equal(await storage.idempotency.find('key-idem', 'retry-1', 1001), undefined, 'stale records are not answered');
        assert.equal(await storage.idempotency.claim('key-idem', { key: 'retry-1', fingerprint: 'f2' }, 'task-c', 5000, 1001), true, 'a stale key is taken again');
        assert.equal(await storage.idempotency.sweep(6000), 1);
        assert.equal(await storage.idempotency.find('key-idem', 'retry-1', 0), undefined);
      });
    });
  });
}
