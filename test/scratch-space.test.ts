import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ScratchSpace } from '../src/media/scratch-space.js';
import { startTestSegue, temporaryDirectory } from './helpers/test-segue.js';

test('a sweep removes what dead workers and old requests left, and keeps the work of live workers', async () => {
  const directory = temporaryDirectory('segue-scratch-');
  let clock = 1_000_000_000_000;
  const scratch = new ScratchSpace(directory, 0, () => clock);
  try {
    const live = await scratch.createFor('worker-1-aaaaaa', 'task-a');
    const dead = await scratch.createFor('worker-2-bbbbbb', 'task-b');
    fs.writeFileSync(path.join(dead, 'big.mp4'), Buffer.alloc(1024));
    const freshRequestFile = await scratch.pathForRequest('import');
    fs.writeFileSync(freshRequestFile, 'x');
    const legacy = path.join(directory, 'TASKID-abc123');
    fs.mkdirSync(legacy);
    const past = new Date(clock - 2 * 3_600_000);
    fs.utimesSync(legacy, past, past);
    const kept = scratch.keptDirectory('texture-analysis');
    fs.mkdirSync(kept, { recursive: true });
    fs.writeFileSync(path.join(kept, 'old.distances'), 'x');
    fs.utimesSync(path.dirname(kept), past, past);

    const removed = await scratch.sweep(async () => new Set(['worker-1-aaaaaa']), 3_600_000);
    assert.equal(removed, 2, 'the dead worker directory and the old legacy entry');
    assert.deepEqual(fs.readdirSync(directory).sort(), [path.basename(live), path.basename(freshRequestFile), 'kept'].sort());
    assert.ok(fs.existsSync(path.join(kept, 'old.distances')), 'files kept across jobs are left alone, however old');
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
});

test('a nearly full disk refuses new tasks with a retryable answer instead of failing them', async () => {
  const harness = await startTestSegue({ environment: { SEGUE_MIN_FREE_DISK_MB: String(1024 * 1024 * 1024) }, runWorker: false });
  try {
    const reply = await harness.segue.http.inject({
      method: 'POST',
      url: '/api/v1/veo/generate',
      headers: harness.headers,
      payload: JSON.stringify({ prompt: 'a boat on a full disk' }),
    });
    assert.equal(reply.json().code, 429);
    assert.match(reply.json().msg, /short of disk space/);
    assert.ok(Number(reply.headers['retry-after']) >= 1);
    const key = (await harness.segue.keys.authenticate(harness.key))!;
    assert.equal(await harness.segue.keys.balance(key.id), 1_000_000, 'nothing was held');
  } finally {
    await harness.close();
  }
});
