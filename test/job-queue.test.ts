import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { backoffDelay, jobRequest } from '../src/jobs/job-kinds.js';
import { type JobHandlers, Worker, type WorkerOptions } from '../src/jobs/worker.js';
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

/** Handlers that do nothing, for the kinds a test does not run. */
const idleHandlers: JobHandlers = {
  'task.start': async () => {},
  'task.poll': async () => {},
  'task.ingest': async () => {},
  'local.render': async () => {},
  'callback.deliver': async () => {},
  'maintenance.sweep': async () => {},
};

/** A worker on `queue` with the given handlers (the rest idle) and settings (the rest small and quiet). */
function testWorker(queue: SqlJobQueue, handlers: Partial<JobHandlers>, settings: Partial<WorkerOptions> = {}): Worker {
  return new Worker({
    queue,
    handlers: { ...idleHandlers, ...handlers },
    onExhausted: {},
    concurrency: 4,
    pollConcurrency: 4,
    kindConcurrency: {},
    leaseMs: 5000,
    pollMs: 50,
    logger: pino({ level: 'silent' }),
    subscribe: () => {},
    ...settings,
  });
}

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
  const worker = testWorker(
    queue,
    {
      'task.start': async (_payload, context) => {
        attempts.push(context.attempt);
        throw new Error('upstream unavailable');
      },
    },
    {
      onExhausted: { 'task.start': async ({ taskId }, error) => void exhausted.push(`${taskId}:${error}`) },
      concurrency: 2,
      subscribe: (listener) => listeners.push(listener),
    },
  );
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
  const worker = testWorker(queue, { 'task.start': async ({ taskId }) => void runs.push(taskId) }, { concurrency: 1 });
  worker.start();
  await queue.enqueue(jobRequest('task.start', { taskId: 'flaky' }));
  await waitFor('the job to be recorded as succeeded', async () => (await queue.findByKey('task.start:flaky'))?.state === 'succeeded');
  await worker.stop(1000);
  assert.deepEqual(runs, ['flaky'], 'the outcome was written again, not the job run again');
});

/** A worker whose polls answer "again in `retryAfterMs`" until told to finish; counts runs per task. */
function pollingWorker(queue: SqlJobQueue, runs: Map<string, number>, options: { retryAfterMs: number; finish?: Set<string>; leaseMs?: number; now?: () => number }) {
  const listeners: Array<() => void> = [];
  const worker = testWorker(
    queue,
    {
      'task.poll': async ({ taskId }) => {
        runs.set(taskId, (runs.get(taskId) ?? 0) + 1);
        return options.finish?.has(taskId) ? undefined : { retryAfterMs: options.retryAfterMs };
      },
    },
    {
      leaseMs: options.leaseMs ?? 5000,
      ...(options.now ? { now: options.now } : {}),
      subscribe: (listener) => listeners.push(listener),
    },
  );
  return { worker, signal: () => listeners.forEach((listener) => listener()) };
}

test('a poll that asks to run again is held by its worker: it runs again with no write to the table, keeps its lease, and finishes', async () => {
  await clearJobs();
  const queue = new SqlJobQueue(database.db, database);
  const runs = new Map<string, number>();
  const finish = new Set<string>();
  const { worker } = pollingWorker(queue, runs, { retryAfterMs: 20, finish });
  worker.start();
  await queue.enqueue(jobRequest('task.poll', { taskId: 'held' }));
  await waitFor('the poll to run twice', () => (runs.get('held') ?? 0) >= 2);
  const row = await database.db.selectFrom('jobs').selectAll().where('idempotency_key', '=', 'task.poll:held').executeTakeFirstOrThrow();
  const updatedAt = row.updated_at;
  await waitFor('the poll to run five times more', () => (runs.get('held') ?? 0) >= 7);
  const later = await database.db.selectFrom('jobs').selectAll().where('idempotency_key', '=', 'task.poll:held').executeTakeFirstOrThrow();
  assert.deepEqual([later.state, later.lease_owner, later.updated_at], ['running', worker.id, updatedAt], 'held: leased to the worker, not rewritten between runs');
  assert.equal(worker.heldJobs(), 1);
  finish.add('held');
  await waitFor('the poll to finish', async () => (await queue.findByKey('task.poll:held'))?.state === 'succeeded');
  assert.equal(worker.heldJobs(), 0);
  await worker.stop(1000);
});

test('a wake reaches a held poll at once, and a stopping worker hands its held polls back, due when it would have run them', async () => {
  await clearJobs();
  const queue = new SqlJobQueue(database.db, database);
  const runs = new Map<string, number>();
  const { worker, signal } = pollingWorker(queue, runs, { retryAfterMs: 9 * 60_000 });
  worker.start();
  await queue.enqueue(jobRequest('task.poll', { taskId: 'sleepy' }));
  await queue.enqueue(jobRequest('task.poll', { taskId: 'other' }));
  await waitFor('both polls to be held', () => worker.heldJobs() === 2);
  await queue.wake('task.poll:sleepy');
  signal();
  await waitFor('the woken poll to run again', () => runs.get('sleepy') === 2);
  assert.equal(runs.get('other'), 1, 'only the woken one');

  const stoppedAt = Date.now();
  await worker.stop(1000);
  const released = await queue.findByKey('task.poll:other');
  assert.equal(released?.state, 'queued');
  assert.equal(released?.leaseOwner, null);
  assert.equal(released?.attempts, 0, 'holding spent no attempt');
  assert.ok(released!.runAt >= stoppedAt + 8 * 60_000, 'due when its worker would have polled it, not at once');
});

test('held polls of a worker that stopped renewing its lease are taken over by another; the first lets them go', async () => {
  await clearJobs();
  let offset = 0;
  const now = () => Date.now() + offset;
  const queue = new SqlJobQueue(database.db, database, () => {}, now);
  /** The first worker's lease renewals hang while it is stalled (as a process paused by the OS). */
  let resume: () => void = () => {};
  let stalled: Promise<void> | null = null;
  class StallingQueue extends SqlJobQueue {
    override async extendLeases(workerId: string, leaseMs: number) {
      if (stalled) await stalled;
      return super.extendLeases(workerId, leaseMs);
    }
  }
  const firstRuns = new Map<string, number>();
  const secondRuns = new Map<string, number>();
  const first = pollingWorker(new StallingQueue(database.db, database, () => {}, now), firstRuns, { retryAfterMs: 60_000, leaseMs: 3000, now });
  first.worker.start();
  await queue.enqueue(jobRequest('task.poll', { taskId: 'orphan' }));
  await waitFor('the first worker to hold the poll', () => first.worker.heldJobs() === 1);
  stalled = new Promise((resolve) => (resume = resolve));
  // The first worker stalls past its lease (by the queue's clock): another takes the poll over.
  offset += 10_000;
  const second = pollingWorker(queue, secondRuns, { retryAfterMs: 60_000, leaseMs: 3000, now });
  second.worker.start();
  await waitFor('the second worker to take the poll over', () => secondRuns.get('orphan') === 1);
  const job = await queue.findByKey('task.poll:orphan');
  assert.deepEqual([job?.leaseOwner, job?.interruptions], [second.worker.id, 1]);
  stalled = null;
  resume();
  await waitFor('the first worker to learn it lost the poll', () => first.worker.heldJobs() === 0);
  await first.worker.stop(1000);
  assert.equal((await queue.findByKey('task.poll:orphan'))?.leaseOwner, second.worker.id, 'the first did not hand back what it no longer held');
  await second.worker.stop(1000);
});

test('polls run in places of their own: a busy worker still runs its polls, as many at once as its poll places, and never more', async () => {
  await clearJobs();
  const queue = new SqlJobQueue(database.db, database);
  const POLL_PLACES = 6;
  let releaseStart!: () => void;
  const startReleased = new Promise<void>((resolve) => (releaseStart = resolve));
  let releasePolls!: () => void;
  const pollsReleased = new Promise<void>((resolve) => (releasePolls = resolve));
  let startRunning = false;
  let pollsRunning = 0;
  let mostPollsAtOnce = 0;
  const worker = testWorker(
    queue,
    {
      // The one ordinary place, taken until the end.
      'task.start': async () => {
        startRunning = true;
        await startReleased;
      },
      'task.poll': async () => {
        pollsRunning++;
        mostPollsAtOnce = Math.max(mostPollsAtOnce, pollsRunning);
        await pollsReleased;
        pollsRunning--;
      },
    },
    { concurrency: 1, pollConcurrency: POLL_PLACES, pollMs: 20 },
  );
  worker.start();
  await queue.enqueue(jobRequest('task.start', { taskId: 'long' }));
  await waitFor('the ordinary place to be taken', () => startRunning);
  for (let index = 0; index < POLL_PLACES + 3; index++) await queue.enqueue(jobRequest('task.poll', { taskId: `poll-${index}` }));
  await waitFor('every poll place to be taken beside the busy ordinary place', () => pollsRunning === POLL_PLACES);
  // Nine polls were due: the three without a place stay in the table (queued, not running).
  const queued = await database.db.selectFrom('jobs').select('state').where('kind', '=', 'task.poll').where('state', '=', 'queued').execute();
  assert.equal(queued.length, 3);
  assert.equal(mostPollsAtOnce, POLL_PLACES);
  releasePolls();
  await waitFor('every poll to finish', async () => {
    const states = await database.db.selectFrom('jobs').select('state').where('kind', '=', 'task.poll').execute();
    return states.length === POLL_PLACES + 3 && states.every((row) => row.state === 'succeeded');
  });
  assert.equal(mostPollsAtOnce, POLL_PLACES, 'never more polls at once than poll places');
  assert.equal(startRunning, true);
  releaseStart();
  await waitFor('the ordinary job to finish', async () => (await queue.findByKey('task.start:long'))?.state === 'succeeded');
  await worker.stop(1000);
});

test('a job written leased to the worker by its own process is adopted: it runs at once with no claim; a stopping worker hands back what it did not run', async () => {
  await clearJobs();
  const queue = new SqlJobQueue(database.db, database);
  const ran: string[] = [];
  let release: () => void = () => {};
  const blocked = new Promise<void>((resolve) => (release = resolve));
  // No signals and a minute between looks at the table: only adoption runs a job within the test.
  const worker = testWorker(
    queue,
    {
      'callback.deliver': async ({ deliveryId }) => {
        ran.push(deliveryId);
        if (deliveryId === 'blocking') await blocked;
      },
    },
    { concurrency: 1, pollMs: 60_000 },
  );
  assert.equal(worker.leaseForAdoption('callback.deliver'), undefined, 'a stopped worker adopts nothing');
  worker.start();
  try {
    assert.equal(worker.leaseForAdoption('task.poll'), undefined, 'polls are never adopted');
    const adopt = async (deliveryId: string) => {
      const lease = worker.leaseForAdoption('callback.deliver')!;
      const job = await queue.enqueueLeased(jobRequest('callback.deliver', { deliveryId, round: 1 }), lease);
      assert.equal(job?.state, 'running');
      assert.equal(job?.leaseOwner, worker.id);
      assert.equal(job?.attempts, 1);
      assert.ok(worker.adopt(job!));
      return job!;
    };
    const first = await adopt('blocking');
    await waitFor('the adopted job to run', () => ran.includes('blocking'));
    // Its one place is taken: the next adopted job waits in hand, leased to this worker alone.
    const waiting = await adopt('waiting');
    assert.equal(await queue.claim('worker-other', ['callback.deliver'], 5000), undefined, 'no other worker can claim them');

    const stopped = worker.stop(5000);
    release();
    await stopped;
    assert.deepEqual(ran, ['blocking'], 'the waiting job never ran here');
    assert.equal((await queue.findByKey(first.idempotencyKey!))?.state, 'succeeded');
    const handedBack = await queue.findByKey(waiting.idempotencyKey!);
    assert.equal(handedBack?.state, 'queued');
    assert.equal(handedBack?.leaseOwner, null);
    assert.equal(handedBack?.attempts, 0, 'handed back without spending an attempt');
  } finally {
    release();
    await worker.stop(1000);
  }
});

test('a job written leased to a worker that died is taken over once its lease expires, as an interruption', async () => {
  await clearJobs();
  const queue = new SqlJobQueue(database.db, database);
  await queue.enqueueLeased(jobRequest('callback.deliver', { deliveryId: 'orphan', round: 1 }), { workerId: 'worker-gone', leaseMs: 200 });
  const ran: number[] = [];
  const worker = testWorker(queue, { 'callback.deliver': async (_payload, context) => void ran.push(context.attempt) });
  worker.start();
  try {
    await waitFor('the orphan to be delivered by another worker', async () => (await queue.findByKey('callback.deliver:orphan:1'))?.state === 'succeeded');
    assert.deepEqual(ran, [1], 'run once, as its first attempt');
    assert.equal((await queue.findByKey('callback.deliver:orphan:1'))?.interruptions, 1);
  } finally {
    await worker.stop(1000);
  }
});
