import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

test('shutdown releases a running job without spending its attempt; the next start finishes the task', async () => {
  const first = await startTestSegue({ environment: { SEGUE_SHUTDOWN_GRACE_SECONDS: '0' } });
  const created = await first.segue.http.inject({
    method: 'POST',
    url: '/api/v1/veo/generate',
    headers: first.headers,
    payload: JSON.stringify({ prompt: 'interrupted', seeds: 12121 }),
  });
  const taskId = created.json().data.taskId as string;
  const renderKey = `local.render:${taskId}`;
  await waitFor('the render to run', async () => (await first.segue.storage.jobs.findByKey(renderKey))?.state === 'running');
  await first.close({ keepData: true });

  const second = await startTestSegue({ dataDir: first.dataDir, runWorker: false });
  const released = await second.segue.storage.jobs.findByKey(renderKey);
  assert.equal(released?.state, 'queued');
  assert.equal(released?.attempts, 0, 'a released job keeps its attempt');
  assert.equal(released?.leaseOwner, null);
  assert.equal((await second.segue.storage.tasks.findById(taskId))?.state, 'running');

  second.segue.worker.start();
  const task = await waitFor('the task to succeed', async () => {
    const current = await second.segue.storage.tasks.findById(taskId);
    return current?.state === 'succeeded' ? current : undefined;
  });
  assert.equal(task.result?.durationSeconds !== undefined, true);
  assert.equal((await second.segue.storage.jobs.findByKey(renderKey))?.attempts, 1);
  await second.close();
});
