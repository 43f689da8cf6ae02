import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { media } from './helpers/media-checks.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';

let harness: TestSegue;
const scratch = temporaryDirectory('segue-idempotency-');

before(async () => {
  // No worker: what is asserted is what a create holds and makes, not how it renders.
  harness = await startTestSegue({ runWorker: false });
});
after(async () => {
  await harness.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** The uploaded videos kept (files, not the folders a removed upload may leave). */
function uploadsIn(directory: string): number {
  return fs.readdirSync(directory, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
}

function post(url: string, body: unknown, idempotencyKey?: string) {
  return harness.segue.http.inject({
    method: 'POST',
    url,
    headers: { ...harness.headers, ...(idempotencyKey !== undefined ? { 'idempotency-key': idempotencyKey } : {}) },
    payload: JSON.stringify(body),
  });
}

async function balance(): Promise<number> {
  return harness.segue.keys.balance((await harness.segue.keys.authenticate(harness.key))!.id);
}

async function taskCount(): Promise<number> {
  return (await harness.segue.storage.tasks.listByState('queued', 10_000)).length;
}

test('Veo: the same key and body answer the first task again and hold nothing new; another body is refused', async () => {
  const body = { prompt: 'a kite over the dunes', seeds: 11111 };
  const before = await balance();
  const first = (await post('/api/v1/veo/generate', body, 'retry-veo-1')).json();
  assert.equal(first.code, 200);
  const held = before - (await balance());
  assert.ok(held > 0);
  const again = (await post('/api/v1/veo/generate', { seeds: 11111, prompt: 'a kite over the dunes' }, 'retry-veo-1')).json();
  assert.deepEqual(again, first, 'the first answer, word for word (key order does not matter)');
  assert.equal(before - (await balance()), held, 'nothing new held');

  const conflict = (await post('/api/v1/veo/generate', { ...body, prompt: 'another kite' }, 'retry-veo-1')).json();
  assert.equal(conflict.code, 422);
  assert.match(conflict.msg, /Idempotency-Key was already used with a different request/);
  const otherRoute = (await post('/api/v1/veo/extend', { taskId: first.data.taskId, prompt: 'x' }, 'retry-veo-1')).json();
  assert.equal(otherRoute.code, 422, 'the same key on another route is another request');

  const bad = (await post('/api/v1/veo/generate', body, 'x'.repeat(256))).json();
  assert.equal(bad.code, 422);
  assert.match(bad.msg, /Idempotency-Key/);
  const noKey = [(await post('/api/v1/veo/generate', body)).json(), (await post('/api/v1/veo/generate', body)).json()];
  assert.notEqual(noKey[0].data.taskId, noKey[1].data.taskId, 'without the header every request is new');
});

test('concurrent duplicates resolve to one task: the database decides', async () => {
  const tasksBefore = await taskCount();
  const balanceBefore = await balance();
  const body = { prompt: 'twelve retries at once', seeds: 22222 };
  const replies = await Promise.all(Array.from({ length: 12 }, () => post('/api/v1/veo/generate', body, 'retry-burst')));
  const ids = new Set(replies.map((reply) => reply.json().data.taskId));
  assert.equal(ids.size, 1, `one task for twelve requests (${[...ids].join(', ')})`);
  assert.equal((await taskCount()) - tasksBefore, 1);
  const [taskId] = ids;
  const price = (await harness.segue.storage.tasks.findById(taskId as string))!.price;
  assert.equal(balanceBefore - (await balance()), price, 'held once');
});

test('universal: a repeated create with a data: URI answers the first generation and stores the upload once', async () => {
  const clip = path.join(scratch, 'clip.mp4');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=24:d=1', '-c:v', 'libx264', '-preset', 'ultrafast', clip]);
  const body = { model: 'google/veo3-1-fast-extend-video', prompt: 'go on', video_url: `data:video/mp4;base64,${fs.readFileSync(clip).toString('base64')}` };
  const importsDirectory = path.join(harness.dataDir, 'blobs', 'imports');
  const first = await post('/v2/video/generations', body, 'retry-universal');
  assert.equal(first.statusCode, 200, first.body);
  const stored = uploadsIn(importsDirectory);
  const again = await post('/v2/video/generations', body, 'retry-universal');
  assert.deepEqual(again.json(), first.json());
  assert.equal(uploadsIn(importsDirectory), stored, 'the upload was not stored twice');
  const racing = await Promise.all(Array.from({ length: 6 }, () => post('/v2/video/generations', { ...body, prompt: 'six at once' }, 'retry-universal-race')));
  assert.equal(new Set(racing.map((reply) => reply.json().id)).size, 1, 'one generation for six concurrent duplicates');
  assert.equal(uploadsIn(importsDirectory), stored + 1, 'the losing duplicates\' uploads were discarded');
  const conflict = await post('/v2/video/generations', { ...body, prompt: 'something else' }, 'retry-universal');
  assert.equal(conflict.statusCode, 400);
  assert.match(conflict.json().message, /Idempotency-Key/);
});

test('keys are per API key: another tenant with the same key gets its own task', async () => {
  const other = await harness.segue.keys.create('tenant-b', 10_000);
  const body = { prompt: 'a shared retry key', seeds: 33333 };
  const mine = (await post('/api/v1/veo/generate', body, 'same-key')).json();
  const theirs = (
    await harness.segue.http.inject({
      method: 'POST',
      url: '/api/v1/veo/generate',
      headers: { authorization: `Bearer ${other.key}`, 'content-type': 'application/json', 'idempotency-key': 'same-key' },
      payload: JSON.stringify(body),
    })
  ).json();
  assert.equal(theirs.code, 200);
  assert.notEqual(theirs.data.taskId, mine.data.taskId);
});
