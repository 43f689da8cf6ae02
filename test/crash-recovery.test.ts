import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import { startCallbackReceiver } from './helpers/callback-receiver.js';
import { freePort, VeoClient } from './helpers/http-client.js';
import { TEST_KEY, temporaryDirectory } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

const mainScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');
const dataDir = temporaryDirectory('segue-crash-');
const children: ChildProcess[] = [];

after(() => {
  for (const child of children) child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function startServer(port: number): ChildProcess {
  const child = spawn(process.execPath, [mainScript], {
    env: {
      ...process.env,
      PORT: String(port),
      SEGUE_DATA_DIR: dataDir,
      SEGUE_BOOTSTRAP_KEY: TEST_KEY,
      SEGUE_ALLOW_PRIVATE_NETWORKS: 'true',
      SEGUE_JOB_LEASE_SECONDS: '2',
      SEGUE_WORKER_POLL_MS: '100',
      SEGUE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  return child;
}

/** Reads the jobs of a task (its callback's included) from the outside, as an operator would. */
function jobsOf(taskId: string): Array<{ kind: string; state: string; attempts: number; interruptions: number }> {
  const database = new SqliteDatabase(path.join(dataDir, 'segue.db'), { readonly: true, fileMustExist: true });
  try {
    const deliveries = database.prepare('select id from callback_deliveries where task_id = ?').all(taskId) as Array<{ id: string }>;
    const needles = [taskId, ...deliveries.map((delivery) => delivery.id)];
    return database
      .prepare(`select kind, state, attempts, interruptions from jobs where ${needles.map(() => 'payload like ?').join(' or ')} order by created_at`)
      .all(...needles.map((needle) => `%${needle}%`)) as Array<{ kind: string; state: string; attempts: number; interruptions: number }>;
  } finally {
    database.close();
  }
}

test('a server killed with SIGKILL mid-render loses nothing: after a restart the task completes once', async (t) => {
  const receiver = await startCallbackReceiver();
  t.after(() => receiver.close());
  const port = await freePort();
  const client = new VeoClient(`http://127.0.0.1:${port}`, TEST_KEY);
  let server = startServer(port);
  await waitFor('the server to answer', async () => (await fetch(`${client.baseUrl}/healthz`)).ok, { timeoutMs: 30_000 });

  const created = await client.post('/api/v1/veo/generate', { prompt: 'a crash test', seeds: 31337, callBackUrl: receiver.url });
  assert.equal(created.code, 200, created.msg);
  const taskId: string = created.data.taskId;
  await waitFor('the render to be running', () => jobsOf(taskId).some((job) => job.kind === 'local.render' && job.state === 'running'));

  server.kill('SIGKILL');
  await new Promise((resolve) => server.once('exit', resolve));
  assert.equal(receiver.received.length, 0, 'nothing was delivered before the crash');

  server = startServer(port);
  const done = await client.waitUntilDone(taskId);
  assert.equal(done.successFlag, 1, done.errorMessage);
  await waitFor('the callback job to finish', () =>
    jobsOf(taskId).some((job) => job.kind === 'callback.deliver' && job.state === 'succeeded'),
  );

  const jobs = jobsOf(taskId);
  const render = jobs.find((job) => job.kind === 'local.render')!;
  assert.equal(render.state, 'succeeded');
  // Issue #11: a kill is counted as an interruption, not as one of the render's attempts.
  assert.equal(render.interruptions, 1, 'the render ran again after its lease expired');
  assert.equal(render.attempts, 1, 'the kill did not spend an attempt');
  assert.equal(jobs.filter((job) => job.kind === 'local.render').length, 1);
  assert.deepEqual(
    jobs.map((job) => job.kind).sort(),
    ['callback.deliver', 'local.render', 'task.poll', 'task.start'],
    'one job of each kind: nothing ran twice to completion',
  );
  assert.equal(receiver.received.length, 1, 'exactly one callback');
  assert.equal(receiver.received[0]!.body.data.taskId, taskId);

  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
});
