import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { TaskLifecycle } from '../src/engine/lifecycle/task-lifecycle.js';
import { media } from './helpers/media-checks.js';
import { assertMatches, createReplySchemas, fetchReplySchema } from './helpers/published-schemas.js';
import { sharedMissing } from './helpers/shared-material.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { succeedQueuedTask } from './helpers/terminal-tasks.js';

let harness: TestSegue;
const scratch = temporaryDirectory('segue-universal-');

before(async () => {
  harness = await startTestSegue({ runWorker: false });
});
after(async () => {
  await harness.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

async function create(body: unknown, key: string | null = harness.key) {
  const response = await harness.segue.http.inject({
    method: 'POST',
    url: '/v2/video/generations',
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
  return { status: response.statusCode, body: response.json() };
}

async function fetchGeneration(id: string, key: string = harness.key) {
  const response = await harness.segue.http.inject({
    url: `/v2/video/generations?generation_id=${encodeURIComponent(id)}`,
    headers: { authorization: `Bearer ${key}` },
  });
  return { status: response.statusCode, body: response.json() };
}

function assertErrorBody(body: any, statusCode: number, path: string) {
  assert.deepEqual(Object.keys(body).sort(), ['message', 'path', 'requestId', 'statusCode', 'timestamp']);
  assert.equal(body.statusCode, statusCode);
  assert.equal(body.path, path);
  assert.match(body.requestId, /^[0-9a-f-]{36}$/);
  assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
}

const minimalBodies: Record<string, Record<string, unknown>> = {
  'google/veo-3.1-t2v': {},
  'google/veo-3.1-t2v-fast': { aspect_ratio: '9:16', duration: 4, resolution: '720p', generate_audio: false, seed: 7, negative_prompt: 'blur' },
  'google/veo-3.1-i2v': { image_url: 'https://example.com/a.png' },
  'google/veo-3.1-i2v-fast': { image_url: 'https://example.com/a.png', duration: 6 },
  'google/veo-3.1-first-last-image-to-video': { image_url: 'https://example.com/a.png', last_image_url: 'https://example.com/b.png' },
  'google/veo-3.1-first-last-image-to-video-fast': { image_url: 'https://example.com/a.png', last_image_url: 'https://example.com/b.png' },
  'google/veo-3.1-reference-to-video': { image_urls: ['https://example.com/a.png', 'https://example.com/b.png'] },
  'google/veo3-1-extend-video': { video_url: 'https://example.com/clip.mp4' },
  'google/veo3-1-fast-extend-video': { video_url: 'https://example.com/clip.mp4', aspect_ratio: 'auto', duration: 7, resolution: '720p', provider: 'GOOGLE' },
};

test('every model id is accepted; create and fetch replies match the published schemas', { skip: sharedMissing }, async () => {
  assert.deepEqual(Object.keys(minimalBodies).sort(), Object.keys(createReplySchemas).sort(), 'every published model is covered');
  for (const [model, extra] of Object.entries(minimalBodies)) {
    const reply = await create({ model, prompt: 'a fox in the snow', ...extra });
    assert.equal(reply.status, 200, `${model}: ${JSON.stringify(reply.body)}`);
    assertMatches(createReplySchemas[model]!, reply.body, `create reply of ${model}`);
    assert.equal(reply.body.status, 'queued');
    const stored = (await harness.segue.storage.tasks.findById(reply.body.id))!;
    assert.ok(stored.price > 0);
    assert.deepEqual(reply.body.meta, { usage: { credits_used: stored.price } });
    const fetched = await fetchGeneration(reply.body.id);
    assert.equal(fetched.status, 200);
    assertMatches(fetchReplySchema, fetched.body, `fetch reply of ${model}`);
    assert.equal(fetched.body.status, 'queued');
    assert.equal(fetched.body.video, null);
  }
});

test('model defaults and enums are applied as published', async () => {
  const t2v = await create({ model: 'google/veo-3.1-t2v', prompt: 'defaults' });
  const stored = (await harness.segue.storage.tasks.findById(t2v.body.id))!;
  assert.equal(stored.parameters.durationSeconds, 8);
  assert.equal(stored.parameters.resolution, '1080p');
  assert.equal(stored.parameters.generateAudio, true);
  assert.equal(stored.parameters.aspectRatio, '16:9');
  assert.equal(stored.parameters.model, 'veo3');

  const fast = await create({ model: 'google/veo-3.1-t2v-fast', prompt: 'x', duration: 4, resolution: '720p', generate_audio: false, aspect_ratio: '9:16' });
  const storedFast = (await harness.segue.storage.tasks.findById(fast.body.id))!;
  assert.deepEqual(
    [storedFast.parameters.model, storedFast.parameters.durationSeconds, storedFast.parameters.resolution, storedFast.parameters.generateAudio, storedFast.parameters.aspectRatio],
    ['veo3_fast', 4, '720p', false, '9:16'],
  );

  const extend = await create({ model: 'google/veo3-1-extend-video', prompt: 'x', video_url: 'https://example.com/v.mp4' });
  const storedExtend = (await harness.segue.storage.tasks.findById(extend.body.id))!;
  assert.equal(storedExtend.operation, 'extend');
  assert.equal(storedExtend.parameters.aspectRatio, 'auto');
  assert.equal(storedExtend.parameters.sourceVideoUrl, 'https://example.com/v.mp4');
});

test('bad bodies are 400 "Body validation error!" naming the field', async () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ prompt: 'x' }, /"model"/],
    [{ model: 'google/veo-9', prompt: 'x' }, /"model" to be one of/],
    [{ model: 'google/veo-3.1-t2v' }, /"prompt"/],
    [{ model: 'google/veo-3.1-t2v', prompt: 'x', duration: 5 }, /"duration" to be one of: 4, 6, 8/],
    [{ model: 'google/veo-3.1-t2v', prompt: 'x', resolution: '4k' }, /"resolution" to be one of: 720p, 1080p/],
    [{ model: 'google/veo-3.1-t2v', prompt: 'x', aspect_ratio: 'auto' }, /"aspect_ratio" to be one of: 16:9, 9:16/],
    [{ model: 'google/veo-3.1-t2v', prompt: 'x', generate_audio: 'yes' }, /"generate_audio"/],
    [{ model: 'google/veo-3.1-t2v', prompt: 'x', provider: 'replicate' }, /"provider" to be one of: google, fal, auto/],
    [{ model: 'google/veo-3.1-i2v', prompt: 'x' }, /"image_url" to be present/],
    [{ model: 'google/veo-3.1-i2v', prompt: 'x', image_url: 'ftp://x/y.png' }, /"image_url" to be an http\(s\) URL or a data: URI/],
    [{ model: 'google/veo-3.1-first-last-image-to-video', prompt: 'x', image_url: 'https://e.com/a.png' }, /"last_image_url"/],
    [{ model: 'google/veo-3.1-reference-to-video', prompt: 'x', image_urls: [] }, /"image_urls" to hold 1 to 3/],
    [{ model: 'google/veo-3.1-reference-to-video', prompt: 'x', image_urls: ['https://e.com/a'], duration: 6 }, /"duration" to be one of: 8/],
    [{ model: 'google/veo3-1-extend-video', prompt: 'x' }, /"video_url" to be present/],
    [{ model: 'google/veo3-1-extend-video', prompt: 'x', video_url: 'https://e.com/v.mp4', duration: 8 }, /"duration" to be one of: 7/],
    [{ model: 'google/veo3-1-extend-video', prompt: 'x', video_url: 'https://e.com/v.mp4', resolution: '1080p' }, /"resolution" to be one of: 720p/],
  ];
  for (const [body, message] of cases) {
    const reply = await create(body);
    assert.equal(reply.status, 400, JSON.stringify(body));
    assert.match(reply.body.message, /^Body validation error!/);
    assert.match(reply.body.message, message, JSON.stringify(body));
    assertErrorBody(reply.body, 400, '/v2/video/generations');
  }
});

test('401 without a valid key, 404 for unknown or foreign ids, 400 without generation_id', async () => {
  const unauthorized = await create({ model: 'google/veo-3.1-t2v', prompt: 'x' }, 'sk-nope-000000000000000');
  assert.equal(unauthorized.status, 401);
  assertErrorBody(unauthorized.body, 401, '/v2/video/generations');
  assert.match(unauthorized.body.message, /requires a valid API key/);
  assert.equal((await create({ model: 'google/veo-3.1-t2v', prompt: 'x' }, null)).status, 401);

  const unknown = await fetchGeneration('does-not-exist');
  assert.equal(unknown.status, 404);
  assertErrorBody(unknown.body, 404, '/v2/video/generations');

  const other = (await harness.segue.keys.create('other', 0)).key;
  const theirs = await create({ model: 'google/veo-3.1-t2v', prompt: 'theirs' }, other);
  const foreign = await fetchGeneration(theirs.body.id);
  assert.equal(foreign.status, 404);
  assert.equal(foreign.body.message, unknown.body.message);

  const missing = await harness.segue.http.inject({ url: '/v2/video/generations', headers: { authorization: `Bearer ${harness.key}` } });
  assert.equal(missing.statusCode, 400);
  assert.match(missing.json().message, /generation_id/);
});

test('statuses are only queued, generating, completed or error; failures carry {name, message}', async () => {
  const lifecycle = new TaskLifecycle(harness.segue.storage);
  const { body } = await create({ model: 'google/veo-3.1-t2v-fast', prompt: 'x' });
  await harness.segue.storage.tasks.transition(body.id, 'queued', { to: 'running', at: Date.now() });
  const generating = await fetchGeneration(body.id);
  assert.equal(generating.body.status, 'generating');
  assertMatches(fetchReplySchema, generating.body, 'generating reply');
  await lifecycle.fail(body.id, { stage: 'generation', reason: 'input_unusable', message: 'the video is 200.0 s long' });
  const failed = await fetchGeneration(body.id);
  assert.equal(failed.body.status, 'error');
  assert.deepEqual(failed.body.error, { name: 'InvalidInput', message: 'the video is 200.0 s long' });
  assert.equal(failed.body.video, null);
  assertMatches(fetchReplySchema, failed.body, 'error reply');

  const done = await create({ model: 'google/veo-3.1-t2v-fast', prompt: 'x' });
  const task = await succeedQueuedTask(harness.segue.storage, done.body.id);
  const completed = await fetchGeneration(task.id);
  assert.equal(completed.body.status, 'completed');
  assert.match(completed.body.video.url, /\/files\/tasks\/[0-9a-f]{32}\/video\.mp4\?expires=/);
  assertMatches(fetchReplySchema, completed.body, 'completed reply');
  assert.equal(JSON.stringify(completed.body).match(/"url"/g)?.length, 1, 'video.url is the only url key');

  // One engine, two faces: the /v2 generation is extended through the Veo dialect by the same key.
  const extended = await harness.segue.http.inject({
    method: 'POST',
    url: '/api/v1/veo/extend',
    headers: harness.headers,
    payload: JSON.stringify({ taskId: task.id, prompt: 'and on' }),
  });
  assert.equal(extended.json().code, 200);
  const viaV2 = await fetchGeneration(extended.json().data.taskId);
  assert.equal(viaV2.body.status, 'queued');
});

test('video_url is checked at submit where it can be: addresses, and data: URIs in full', async () => {
  for (const video_url of ['http://127.0.0.1/v.mp4', 'http://169.254.169.254/v.mp4', 'http://localhost/v.mp4', 'file:///etc/passwd']) {
    const reply = await create({ model: 'google/veo3-1-extend-video', prompt: 'x', video_url });
    assert.equal(reply.status, 400, video_url);
    assert.match(reply.body.message, /video_url/);
  }
  const dataUri = (bytes: Buffer) => `data:video/mp4;base64,${bytes.toString('base64')}`;
  const notVideo = await create({ model: 'google/veo3-1-extend-video', prompt: 'x', video_url: dataUri(Buffer.from('<html>not a video</html>')) });
  assert.equal(notVideo.status, 400);
  assert.match(notVideo.body.message, /video_url: .*(readable|video)/);

  const long = path.join(scratch, 'long.mp4');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'color=c=blue:s=160x90:r=1:d=142', '-c:v', 'libx264', '-preset', 'ultrafast', long]);
  const tooLong = await create({ model: 'google/veo3-1-extend-video', prompt: 'x', video_url: dataUri(fs.readFileSync(long)) });
  assert.equal(tooLong.status, 400);
  assert.match(tooLong.body.message, /142\.0 s long; videos up to 141 s/);

  const strip = path.join(scratch, 'strip.mp4');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=640x160:r=24:d=1', '-c:v', 'libx264', '-preset', 'ultrafast', strip]);
  const wide = await create({ model: 'google/veo3-1-extend-video', prompt: 'x', video_url: dataUri(fs.readFileSync(strip)) });
  assert.equal(wide.status, 400);
  assert.match(wide.body.message, /aspect ratio \(640×160\) is not supported/);

  const fine = path.join(scratch, 'fine.mp4');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=24:d=1', '-c:v', 'libx264', '-preset', 'ultrafast', fine]);
  const truncated = fs.readFileSync(fine).subarray(0, 2000);
  const cut = await create({ model: 'google/veo3-1-extend-video', prompt: 'x', video_url: dataUri(truncated) });
  assert.equal(cut.status, 400, 'a truncated MP4 is refused');
  const accepted = await create({ model: 'google/veo3-1-extend-video', prompt: 'x', video_url: dataUri(fs.readFileSync(fine)) });
  assert.equal(accepted.status, 200);
  const stored = (await harness.segue.storage.tasks.findById(accepted.body.id))!;
  assert.match(stored.parameters.sourceVideoKey ?? '', /^imports\/[a-z0-9]+\/source\.mp4$/);
  assert.ok(JSON.stringify(stored.requestEcho).length < 300, 'the echo does not keep the data');
});
