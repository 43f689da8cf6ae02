import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { backoffDelay, jobRequest } from '../src/jobs/job-kinds.js';
import { Worker } from '../src/jobs/worker.js';
import { openSqliteDatabase, type OpenDatabase } from '../src/storage/database.js';
import { SqlJobQueue } from '../src/storage/job-queue-sql.js';
import { waitFor } from './helpers/wait-for.js';
import { temporaryDirectory } from './helpers/test-segue.js';

let database: OpenDatabase;
let dataDir: string;
let clock = 1_000_000;
const now = () => clock;

before(async () => {
  dataDir = temporaryDirectory();
  database = await openSqliteDatabase(dataDir);
});
after(() => database.close());

async function clearJobs() {
  await database.db.deleteFrom('jobs').execute();
}

test('enqueue is idempotent on its key', async () => {
  await clearJobs();
  const queue = new SqlJobQueue(database.db, () => {}, now);
  await queue.enqueue(jobRequest('task.start', { taskId: 'a' }));
  await queue.enqueue(jobRequest('task.start', { taskId: 'a' }));
  const rows = await database.db.selectFrom('jobs').selectAll().execute();
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.idempotency_key, 'task.start:a');
});

test('a claimed job is leased to one worker; an expired lease makes it claimable again', async () => {
  await clearJobs();
  const queue = new SqlJobQueue(database.db, () => {}, now);
  await queue.enqueue(jobRequest('task.poll', { taskId: 'b' }));
  const first = await queue.claim('worker-1', ['task.poll'], 30_000);
  assert.equal(first?.attempts, 1);
  assert.equal(await queue.claim('worker-2', ['task.poll'], 30_000), undefined, 'leased job is not claimable');
  assert.equal(await queue.heartbeat(first!.id, 'worker-1', 30_000), true);
  clock += 31_000;
  const second = await queue.claim('worker-2', ['task.poll'], 30_000);
  assert.equal(second?.id, first!.id);
  // Issue #11: a lease lost to a dead worker is an interruption, not one of the job's attempts.
  assert.equal(second?.attempts, 1, 'a lost lease does not spend an attempt');
  assert.equal(second?.interruptions, 1, 'a lost lease counts as an interruption');
  assert.equal(await queue.complete(first!.id, 'worker-1'), false, 'the old owner cannot complete it');
  assert.equal(await queue.heartbeat(first!.id, 'worker-1', 30_000), false, 'the old owner learns it lost the lease');
  assert.equal(await queue.complete(second!.id, 'worker-2'), true);
});

test('claims filter by kind and respect run_at; retry-after gives the attempt back', async () => {
  await clearJobs();
  const queue = new SqlJobQueue(database.db, () => {}, now);
  await queue.enqueue(jobRequest('task.poll', { taskId: 'c' }, { runAt: clock + 10_000 }));
  await queue.enqueue(jobRequest('local.render', { taskId: 'c' }));
  assert.equal(await queue.claim('w', ['task.poll'], 1000), undefined, 'not due yet');
  assert.equal(await queue.nextRunAt(['task.poll']), clock + 10_000);
  const render = await queue.claim('w', ['local.render'], 1000);
  assert.equal(render?.kind, 'local.render');
  await queue.reschedule(render!.id, 'w', clock + 500, { spendAttempt: false });
  clock += 600;
  const again = await queue.claim('w', ['local.render'], 1000);
  assert.equal(again?.attempts, 1, 'retry-after did not spend an attempt');
  await queue.wake('task.poll:c');
  assert.equal((await queue.claim('w', ['task.poll'], 1000))?.kind, 'task.poll', 'wake made the poll due now');
});

test('two connections to the same database file never claim the same job', async () => {
  await clearJobs();
  const other = await openSqliteDatabase(dataDir);
  const queueA = new SqlJobQueue(database.db, () => {}, now);
  const queueB = new SqlJobQueue(other.db, () => {}, now);
  for (let index = 0; index < 50; index++) await queueA.enqueue(jobRequest('task.start', { taskId: `t${index}` }));
  const claims = await Promise.all(
    Array.from({ length: 60 }, (_, index) =>
      (index % 2 ? queueA : queueB).claim(`worker-${index % 4}`, ['task.start'], 60_000),
    ),
  );
  await other.close();
  const ids = claims.filter(Boolean).map((job) => job!.id);
  assert.equal(ids.length, 50);
  assert.equal(new Set(ids).size, 50);
});

test('backoff grows exponentially with jitter and stays under its cap', () => {
  const low = () => 0;
  const high = () => 0.999;
  assert.equal(backoffDelay('task.start', 1, low), 1000);
  assert.equal(backoffDelay('task.start', 3, low), 4000);
  assert.ok(backoffDelay('task.start', 3, high) <= 8000);
  assert.ok(backoffDelay('task.start', 30, high) <= 60_000);
});

/** Retries come due at once, so the test waits on state, not on backoff time. */
class ImmediateRetryQueue extends SqlJobQueue {
  override reschedule(jobId: string, workerId: string, _runAt: number, options: { spendAttempt: boolean; error?: string }) {
    return super.reschedule(jobId, workerId, Date.now(), options);
  }
}

test('the worker retries a failing job, then gives up and runs the exhausted handler once', async () => {
  await clearJobs();
  const queue = new ImmediateRetryQueue(database.db);
  const attempts: number[] = [];
  const exhausted: string[] = [];
  const listeners: Array<() => void> = [];
  const worker = new Worker({
    queue,
    handlers: {
      'task.start': async (_payload, context) => {
        attempts.push(context.attempt);
        throw new Error('upstream unavailable');
      },
      'task.poll': async () => {},
      'task.ingest': async () => {},
      'local.render': async () => {},
      'callback.deliver': async () => {},
      'maintenance.sweep': async () => {},
    },
    onExhausted: { 'task.start': async ({ taskId }, error) => void exhausted.push(`${taskId}:${error}`) },
    concurrency: 2,
    kindConcurrency: {},
    leaseMs: 5000,
    pollMs: 50,
    logger: pino({ level: 'silent' }),
    subscribe: (listener) => listeners.push(listener),
  });
  worker.start();
  await queue.enqueue(jobRequest('task.start', { taskId: 'doomed' }));
  await waitFor('the job to be buried', async () => (await queue.findByKey('task.start:doomed'))?.state === 'dead');
  await worker.stop(1000);
  assert.deepEqual(attempts, [1, 2, 3, 4, 5]);
  assert.deepEqual(exhausted, ['doomed:upstream unavailable']);
});
