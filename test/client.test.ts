import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  AuthenticationError,
  InsufficientCreditsError,
  NotFoundError,
  SegueClient,
  type SegueTask,
  TaskFailedError,
  ValidationError,
  verifyWebhook,
} from '../src/client/index.js';
import { startCallbackReceiver } from './helpers/callback-receiver.js';
import { freePort } from './helpers/http-client.js';
import { media } from './helpers/media-checks.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

/*
 * segue/client against a real Segue over real HTTP: real renders, real files, real callbacks.
 */

let harness: TestSegue;
let base: string;
let client: SegueClient;
let apiKey: string;
let webhookSecret: string;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
const scratch = temporaryDirectory('segue-client-');
const quick = { intervalMs: 200, maxIntervalMs: 1000, timeoutMs: 180_000 };
/** The generation the later tests extend, and its downloaded video. */
let generated: SegueTask;
const generatedFile = path.join(scratch, 'generated.mp4');

before(async () => {
  const port = await freePort();
  harness = await startTestSegue({
    environment: { PORT: String(port), SEGUE_ALLOW_PRIVATE_NETWORKS: 'true', SEGUE_SHUTDOWN_GRACE_SECONDS: '1' },
  });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  base = `http://127.0.0.1:${port}`;
  const issued = await harness.segue.keys.create('client-test', 1_000_000);
  ({ key: apiKey, webhookSecret } = issued);
  client = new SegueClient({ baseUrl: base, apiKey });
  receiver = await startCallbackReceiver();
});

after(async () => {
  await receiver.close();
  await harness.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** An MP4 with H.264 video and AAC sound of the given length, as ffprobe reads it. */
async function assertRealMp4(file: string, seconds: number): Promise<void> {
  const info = await media.probe(file);
  assert.match(info.formatName, /mp4/);
  assert.equal(info.video?.codec, 'h264');
  assert.equal(info.audio?.codec, 'aac');
  assert.ok(Math.abs(info.video!.durationSeconds - seconds) <= 0.1, `${file}: ${info.video!.durationSeconds} s, expected ${seconds}`);
}

const leftovers = () => fs.readdirSync(scratch).filter((name) => name.endsWith('.part'));

test('errors are classes with the dialect code: bad key, unknown task, bad bodies, no credits, timeouts', async () => {
  const stranger = new SegueClient({ baseUrl: base, apiKey: 'sk-not-a-key-000000000' });
  await assert.rejects(stranger.credits(), (error) => error instanceof AuthenticationError && error.code === 401);
  await assert.rejects(stranger.generate({ prompt: 'a boat' }), AuthenticationError);
  await assert.rejects(client.get('0123456789abcdef0123456789abcdef'), (error) => error instanceof NotFoundError && error.code === 404);
  await assert.rejects(client.waitFor('no-such-task', quick), NotFoundError);
  await assert.rejects(client.generate({ prompt: ' ' }), (error) => error instanceof ValidationError && error.code === 422 && /prompt/.test(error.message));
  await assert.rejects(client.generate({ prompt: 'a boat', seed: 5 }), (error) => error instanceof ValidationError && /seeds/.test(error.message));
  await assert.rejects(
    client.extend({ videoUrl: 'ftp://example.com/clip.mp4' }, { prompt: 'more' }),
    (error) => error instanceof ValidationError && error.code === 400 && /video_url/.test(error.message),
  );
  await assert.rejects(client.extend({ taskId: 'no-such-task' }, { prompt: 'more' }), NotFoundError);
  await assert.rejects(client.extend({ videoUrl: 'https://example.com/a.mp4' }, { prompt: 'more', watermark: 'x' } as never), TypeError);

  const poor = await harness.segue.keys.create('poor', 0);
  await assert.rejects(
    new SegueClient({ baseUrl: base, apiKey: poor.key }).generate({ prompt: 'a boat' }),
    (error) => error instanceof InsufficientCreditsError && error.code === 402,
  );
  assert.equal(await new SegueClient({ baseUrl: base, apiKey: poor.key }).credits(), 0);
});

test('generate → waitFor (onProgress) → download is a real MP4; the signed callback verifies with verifyWebhook', async () => {
  const creditsBefore = await client.credits();
  const id = await client.generate({ prompt: 'A paper boat drifts down a rainy street', seed: 24680, callBackUrl: receiver.url });
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.ok((await client.credits()) < creditsBefore, 'the price is held');
  await assert.rejects(client.waitFor(id, { timeoutMs: 1 }), (error) => (error as Error).name === 'TimeoutError');

  const seen: SegueTask[] = [];
  generated = await client.waitFor(id, { ...quick, onProgress: (task) => seen.push(task) });
  assert.ok(seen.length >= 2, `onProgress saw ${seen.map((task) => task.status).join(', ')}`);
  assert.deepEqual(seen.at(-1), generated);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.progress >= seen[i - 1]!.progress, 'progress never goes back');
  assert.equal(generated.status, 'succeeded');
  assert.equal(generated.progress, 100);
  assert.equal(generated.operation, 'generate');
  assert.equal(generated.model, 'veo3_fast');
  assert.equal(generated.engine, 'local');
  assert.equal(generated.method, 'procedural_scene');
  assert.equal(generated.fallback, false);
  assert.equal(generated.error, null);
  assert.equal(generated.segmentUrl, null);
  assert.equal(generated.durationSeconds, 8);
  assert.match(generated.videoUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/files\//);

  const saved = await client.download(id, generatedFile);
  assert.deepEqual(saved, { path: generatedFile, bytes: fs.statSync(generatedFile).size });
  await assertRealMp4(generatedFile, 8);
  assert.deepEqual(leftovers(), []);

  const callback = await waitFor('the callback', () => receiver.received[0]);
  assert.equal(callback.body.data.taskId, id);
  assert.ok(verifyWebhook({ headers: callback.headers, rawBody: callback.rawBody, webhookSecret }));
  assert.equal(verifyWebhook({ headers: callback.headers, rawBody: callback.rawBody.replace(id, 'f'.repeat(32)), webhookSecret }), false);
  assert.equal(verifyWebhook({ headers: callback.headers, rawBody: callback.rawBody, webhookSecret: 'whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==' }), false);
});

test('extend by task id (Veo dialect): the whole video and the new segment', async () => {
  const id = await client.extend({ taskId: generated.id }, { prompt: 'The boat spins in a puddle', model: 'fast', seed: 13579 });
  const extended = await client.waitFor(id, quick);
  assert.equal(extended.operation, 'extend');
  assert.equal(extended.parentTaskId, generated.id);
  assert.equal(extended.durationSeconds, 15);
  assert.ok(extended.segmentUrl && extended.videoUrl && extended.segmentUrl !== extended.videoUrl);
  const file = path.join(scratch, 'extended.mp4');
  await client.download(id, file);
  await assertRealMp4(file, 15);
});

test('extend by file (universal dialect, a data: URI): a real 15 s video', async () => {
  const id = await client.extend({ file: generatedFile }, { prompt: 'It drifts on' });
  const extended = await client.waitFor(id, quick);
  assert.equal(extended.operation, 'extend');
  assert.equal(extended.model, 'veo3_fast');
  assert.equal(extended.durationSeconds, 15);
  const file = path.join(scratch, 'extended-from-file.mp4');
  await client.download(id, file);
  await assertRealMp4(file, 15);
  assert.deepEqual(leftovers(), []);
});

test('a create whose answer is lost is sent again with the same Idempotency-Key: one task; a failed task rejects waitFor', async () => {
  // A media server whose "video" is not one: the extension is accepted, then fails when it runs.
  const mediaServer = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'video/mp4' }).end('not a video'));
  await new Promise<void>((resolve) => mediaServer.listen(0, '127.0.0.1', resolve));
  const videoUrl = `http://127.0.0.1:${(mediaServer.address() as AddressInfo).port}/clip.mp4`;
  // A proxy that passes the first create on to Segue, then drops the connection instead of answering.
  const keys: string[] = [];
  let firstAnswer = '';
  const proxy = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const headers = Object.fromEntries(['authorization', 'content-type', 'idempotency-key'].flatMap((name) => (request.headers[name] ? [[name, String(request.headers[name])]] : [])));
      const upstream = await fetch(`${base}${request.url}`, { method: request.method!, headers, ...(request.method === 'POST' ? { body: Buffer.concat(chunks) } : {}) });
      const text = await upstream.text();
      if (request.method === 'POST') keys.push(headers['idempotency-key'] ?? '');
      if (request.method === 'POST' && keys.length === 1) {
        firstAnswer = text;
        request.socket.destroy();
        return;
      }
      response.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const before = (await client.list({ limit: 100 })).tasks.length;
    const proxied = new SegueClient({ baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, apiKey });
    const id = await proxied.extend({ videoUrl }, { prompt: 'more' });
    assert.equal(keys.length, 2, 'sent twice');
    assert.match(keys[0]!, /^[0-9a-f-]{36}$/);
    assert.equal(keys[1], keys[0], 'with the same Idempotency-Key');
    assert.equal(JSON.parse(firstAnswer).id, id, 'the lost answer named the same task');
    const page = await client.list({ limit: 100 });
    assert.equal(page.tasks.length, before + 1, 'one task, not two');
    assert.equal(page.tasks[0]!.id, id, 'newest first');

    const failure = await client.waitFor(id, quick).then(
      () => assert.fail('the task should fail'),
      (error: unknown) => error,
    );
    assert.ok(failure instanceof TaskFailedError);
    assert.equal(failure.task.status, 'failed');
    assert.ok([400, 500, 501].includes(failure.code), `code ${failure.code}`);
    assert.ok(failure.message.length > `task ${id} failed: `.length, failure.message);
    await assert.rejects(client.download(id, path.join(scratch, 'never.mp4')), TaskFailedError);
    assert.equal(fs.existsSync(path.join(scratch, 'never.mp4')), false);

    const again = await client.generate({ prompt: 'twice', idempotencyKey: 'order-1234' });
    assert.equal(await client.generate({ prompt: 'twice', idempotencyKey: 'order-1234' }), again, 'a given key answers the first task');
  } finally {
    proxy.closeAllConnections();
    mediaServer.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await new Promise((resolve) => mediaServer.close(resolve));
  }
});

test('list pages newest first by task id', async () => {
  const first = await client.list({ limit: 2 });
  assert.equal(first.tasks.length, 2);
  assert.ok(first.next);
  const second = await client.list({ limit: 2, after: first.next });
  assert.ok(second.tasks.every((task) => !first.tasks.some((seen) => seen.id === task.id)));
  await assert.rejects(client.list({ limit: 0 }), ValidationError);
});
