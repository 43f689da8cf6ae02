import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestSegue, type TestSegue } from './helpers/test-segue.js';
import { frameHashes } from './helpers/media-checks.js';
import { waitFor } from './helpers/wait-for.js';

let harness: TestSegue;

before(async () => {
  harness = await startTestSegue({ environment: { SEGUE_LOCAL_RENDER_CONCURRENCY: '2' } });
});
after(() => harness.close());

async function generateAndHash(body: Record<string, unknown>): Promise<string[]> {
  const response = await harness.segue.http.inject({
    method: 'POST',
    url: '/api/v1/veo/generate',
    headers: harness.headers,
    payload: JSON.stringify(body),
  });
  const taskId = response.json().data.taskId as string;
  const task = await waitFor(`task ${taskId}`, async () => {
    const current = await harness.segue.storage.tasks.findById(taskId);
    return current?.state === 'succeeded' || current?.state === 'failed' ? current : undefined;
    // Three renders side by side on a busy 2-core machine can take minutes; the wait is on state.
  }, { timeoutMs: 240_000 });
  assert.equal(task.state, 'succeeded', task.failure?.message);
  const stored = await harness.segue.storage.tasks.findById(taskId);
  return frameHashes(`${harness.dataDir}/blobs/${stored!.result!.videoKey}`);
}

test('the same request with the same seed gives identical frames; another seed does not', async () => {
  const [first, second, other] = await Promise.all([
    generateAndHash({ prompt: 'a quiet pond', seeds: 42424 }),
    generateAndHash({ prompt: 'a quiet pond', seeds: 42424 }),
    generateAndHash({ prompt: 'a quiet pond', seeds: 42425 }),
  ]);
  assert.equal(first.length, 8 * 24);
  assert.deepEqual(first, second);
  assert.notDeepEqual(first, other);
});
