import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { backoffDelay, jobRequest } from '../src/jobs/job-kinds.js';
import { Worker } from '../src/jobs/worker.js';
import { StorageUnavailableError } from '../src/ports/storage.js';
import type { StorageDialect } from '../src/storage/storage-dialect.js';
import { openSqliteDialect } from '../src/storage/sqlite/sqlite-dialect.js';
import { SqlJobQueue } from '../src/storage/job-queue-sql.js';
import { waitFor } from './helpers/wait-for.js';
import { temporaryDirectory } from './helpers/test-segue.js';

let database: StorageDialect;
let dataDir: string;

before(async () => {
  dataDir = temporaryDirectory();
  database = await openSqliteDialect(dataDir);
});
after(() => database.close());

async function clearJobs() {
  await database.db.deleteFrom('jobs').execute();
}

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
  const queue = new ImmediateRetryQueue(database.db, database);
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

test('an outcome the database cannot take at first is written once it answers, without running the job again', async () => {
  await clearJobs();
  let refusals = 2;
  /** complete() meets a dropped connection twice, as on a database restart. */
  class FlakyQueue extends SqlJobQueue {
    override async complete(jobId: string, workerId: string) {
      if (refusals-- > 0) throw new StorageUnavailableError('the database dropped the connection');
      return super.complete(jobId, workerId);
    }
  }
  const queue = new FlakyQueue(database.db, database);
  const runs: string[] = [];
  const worker = new Worker({
    queue,
    handlers: {
      'task.start': async ({ taskId }) => void runs.push(taskId),
      'task.poll': async () => {},
      'task.ingest': async () => {},
      'local.render': async () => {},
      'callback.deliver': async () => {},
      'maintenance.sweep': async () => {},
    },
    onExhausted: {},
    concurrency: 1,
    kindConcurrency: {},
    leaseMs: 5000,
    pollMs: 50,
    logger: pino({ level: 'silent' }),
    subscribe: () => {},
  });
  worker.start();
  await queue.enqueue(jobRequest('task.start', { taskId: 'flaky' }));
  await waitFor('the job to be recorded as succeeded', async () => (await queue.findByKey('task.start:flaky'))?.state === 'succeeded');
  await worker.stop(1000);
  assert.deepEqual(runs, ['flaky'], 'the outcome was written again, not the job run again');
});
