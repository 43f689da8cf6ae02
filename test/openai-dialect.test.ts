import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import type { Video, VideoExtendParams } from 'openai/resources/videos';
import { OpenAiModels } from '../src/http/openai/openai-models.js';
import { startCallbackReceiver } from './helpers/callback-receiver.js';
import { freePort, VeoClient } from './helpers/http-client.js';
import { media } from './helpers/media-checks.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

/*
 * The OpenAI-compatible Videos API through the official `openai` SDK (its engines field asks for
 * Node 22; the videos and webhooks methods used here run on Node 20), against a real Segue on
 * the local engine, with a real webhook receiver.
 */

const ADMIN_KEY = 'admin-key-openai-0123456789';
const statuses = new Set(['queued', 'in_progress', 'completed', 'failed']);
const scratch = temporaryDirectory('segue-openai-');
let harness: TestSegue;
let base: string;
let client: OpenAI;
let stranger: OpenAI;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let webhookSecret: string;

before(async () => {
  const port = await freePort();
  harness = await startTestSegue({ environment: { PORT: String(port), SEGUE_ALLOW_PRIVATE_NETWORKS: 'true', SEGUE_ADMIN_KEY: ADMIN_KEY } });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  base = `http://127.0.0.1:${port}`;
  client = new OpenAI({ apiKey: harness.key, baseURL: `${base}/v1`, maxRetries: 0 });
  const other = await harness.segue.keys.create('another tenant', 100_000);
  stranger = new OpenAI({ apiKey: other.key, baseURL: `${base}/v1`, maxRetries: 0 });
  receiver = await startCallbackReceiver();
  const key = await harness.segue.keys.find(harness.key);
  webhookSecret = key.webhookSecret;
  const set = await fetch(`${base}/admin/keys/${key.id}/webhook`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: receiver.url }),
  });
  assert.equal(set.status, 200, await set.clone().text());
  assert.equal(((await set.json()) as { webhookUrl: string }).webhookUrl, receiver.url);
});

after(async () => {
  await receiver.close();
  await harness.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** Polls as the SDK's users do, checking every status on the way; returns the final video. */
async function untilDone(id: string): Promise<Video> {
  return waitFor(
    `video ${id}`,
    async () => {
      const video = await client.videos.retrieve(id);
      assert.ok(statuses.has(video.status), `status ${video.status}`);
      assert.ok(Number.isInteger(video.progress));
      return video.status === 'completed' || video.status === 'failed' ? video : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 250 },
  );
}

/** The video's bytes through `downloadContent`, on disk, with its probed length. */
async function downloaded(id: string, name: string): Promise<{ file: string; seconds: number }> {
  const response = await client.videos.downloadContent(id);
  assert.equal(response.headers.get('content-type'), 'video/mp4');
  const file = path.join(scratch, name);
  fs.writeFileSync(file, Buffer.from(await response.arrayBuffer()));
  const info = await media.probe(file);
  assert.match(info.formatName, /mp4/);
  return { file, seconds: info.durationSeconds };
}

let made: Video;
let extended: Video;

test('create, poll, download, extend (multipart video[id]) and remix through the official SDK', async () => {
  const created = await client.videos.create({ model: 'veo3_fast', prompt: 'a lighthouse at dusk, waves below', seconds: '4', size: '1280x720' });
  assert.equal(created.object, 'video');
  assert.equal(created.status, 'queued');
  assert.deepEqual([created.model, created.size, created.seconds, created.remixed_from_video_id, created.error], ['veo3_fast', '1280x720', '4', null, null]);
  made = await untilDone(created.id);
  assert.equal(made.status, 'completed', JSON.stringify(made.error));
  assert.equal(made.progress, 100);
  assert.ok(made.completed_at! >= made.created_at && made.expires_at! > made.completed_at!);
  const source = await downloaded(made.id, 'made.mp4');
  assert.ok(Math.abs(source.seconds - 4) < 0.5, `${source.seconds} s`);

  const partial = await client.videos.downloadContent(made.id, {}, { headers: { Range: 'bytes=0-99' } });
  assert.equal(partial.status, 206);
  assert.equal((await partial.arrayBuffer()).byteLength, 100);

  // The SDK types `seconds` as 4, 8 or 12; an extension always adds Veo's 7 s and says so in `seconds`.
  const extension = await client.videos.extend({ video: { id: made.id }, prompt: 'the light sweeps on', seconds: '8' });
  assert.equal(extension.seconds, String(Math.round(source.seconds) + 7));
  extended = await untilDone(extension.id);
  assert.equal(extended.status, 'completed', JSON.stringify(extended.error));
  const whole = await downloaded(extended.id, 'extended.mp4');
  assert.ok(Math.abs(whole.seconds - (source.seconds + 7)) < 0.5, `${whole.seconds} s after ${source.seconds} s`);
  assert.equal(extended.seconds, String(Math.round(whole.seconds)));

  const remix = await client.videos.remix(made.id, { prompt: 'the same coast at night' });
  assert.equal(remix.remixed_from_video_id, made.id);
  assert.equal((await untilDone(remix.id)).status, 'completed');
});

test('a video made here reads and extends through the Veo and universal dialects', async () => {
  const veo = new VeoClient(base, harness.key);
  assert.equal((await veo.recordInfo(made.id)).data.successFlag, 1);
  const universal = await fetch(`${base}/v2/video/generations?generation_id=${made.id}`, { headers: { authorization: `Bearer ${harness.key}` } });
  assert.equal(((await universal.json()) as { status: string }).status, 'completed');
  const continued = await veo.post('/api/v1/veo/extend', { taskId: made.id, prompt: 'and the tide comes in' });
  assert.equal(continued.code, 200, continued.msg);
  const finished = await untilDone(continued.data.taskId);
  assert.equal(finished.status, 'completed');
  assert.equal(finished.seconds, String(Math.round((await downloaded(finished.id, 'veo.mp4')).seconds)));
});

test('webhooks.unwrap() verifies a delivered video.completed event with the key\'s whsec_ secret', async () => {
  const delivered = await waitFor('the video.completed event', () => receiver.received.find((entry) => entry.body?.data?.id === made.id));
  const event = (await client.webhooks.unwrap(delivered.rawBody, delivered.headers as Record<string, string>, webhookSecret)) as unknown as Record<string, any>;
  assert.deepEqual({ ...event, created_at: 0 }, { id: `evt_${made.id}`, object: 'event', type: 'video.completed', created_at: 0, data: { id: made.id } });
  await assert.rejects(client.webhooks.unwrap(delivered.rawBody, delivered.headers as Record<string, string>, 'whsec_' + Buffer.alloc(32, 1).toString('base64')));
});

test('list pages by cursor, both orders; delete hides a video (404) and answers video.deleted', async () => {
  const newestFirst: string[] = [];
  for await (const video of client.videos.list({ limit: 2 })) newestFirst.push(video.id);
  const page = await client.videos.list({ limit: 2 });
  assert.equal(page.data.length, 2);
  assert.equal(page.has_more, true);
  assert.ok(newestFirst.length >= 4 && new Set(newestFirst).size === newestFirst.length);
  const oldestFirst: string[] = [];
  for await (const video of client.videos.list({ limit: 3, order: 'asc' })) oldestFirst.push(video.id);
  assert.deepEqual(oldestFirst, [...newestFirst].reverse());
  assert.equal(oldestFirst[0], made.id);

  assert.deepEqual(await client.videos.delete(extended.id), { id: extended.id, object: 'video.deleted', deleted: true });
  await assert.rejects(client.videos.retrieve(extended.id), OpenAI.NotFoundError);
  await assert.rejects(client.videos.downloadContent(extended.id), OpenAI.NotFoundError);
  await assert.rejects(client.videos.delete(extended.id), OpenAI.NotFoundError);
  const after: string[] = [];
  for await (const video of client.videos.list()) after.push(video.id);
  assert.ok(!after.includes(extended.id));
});

test('client mistakes are 4xx in OpenAI\'s error shape; other tenants\' videos are not found; Idempotency-Key', async () => {
  const refused = await client.videos.create({ prompt: 'too long', seconds: '12' }).catch((error: unknown) => error);
  assert.ok(refused instanceof OpenAI.BadRequestError);
  assert.deepEqual([refused.param, refused.code, refused.type], ['seconds', 'invalid_value', 'invalid_request_error']);
  assert.match(refused.message, /Supported values are: '4', '6', '8'/);
  await assert.rejects(client.videos.create({ prompt: 'wide', size: '1792x1024' }), OpenAI.BadRequestError);
  await assert.rejects(client.videos.create({ prompt: 'a sora', model: 'sora-2' }), (error: unknown) => error instanceof OpenAI.BadRequestError && /not served here/.test(error.message));
  await assert.rejects(client.videos.create({ prompt: 'not a picture', input_reference: await toFile(Buffer.from('hello'), 'x.png') }), OpenAI.BadRequestError);
  await assert.rejects(new OpenAI({ apiKey: 'sk-wrong-0123456789abcdef', baseURL: `${base}/v1`, maxRetries: 0 }).videos.list(), OpenAI.AuthenticationError);
  await assert.rejects(stranger.videos.retrieve(made.id), OpenAI.NotFoundError);
  await assert.rejects(stranger.videos.extend({ video: { id: made.id }, prompt: 'not mine' } as VideoExtendParams), OpenAI.NotFoundError);

  const once = { headers: { 'Idempotency-Key': 'openai-create-1' } };
  const first = await client.videos.create({ prompt: 'a red kite over dunes', size: '720x1280' }, once);
  assert.equal((await client.videos.create({ prompt: 'a red kite over dunes', size: '720x1280' }, once)).id, first.id);
  await assert.rejects(client.videos.create({ prompt: 'another kite', size: '720x1280' }, once), OpenAI.ConflictError);
  const busy = await client.videos.delete(first.id).catch((error: unknown) => error);
  assert.ok(busy instanceof OpenAI.ConflictError, 'an unfinished video cannot be deleted yet');
  assert.equal(busy.headers.get('x-should-retry'), 'false');

  const { data, response } = await client.videos.retrieve(first.id).withResponse();
  assert.equal(data.size, '720x1280');
  assert.match(response.headers.get('openai-poll-after-ms') ?? '', /^\d+$/);
  const models = await client.models.list();
  const ids = models.data.map((model) => model.id);
  for (const id of ['veo3', 'veo3_fast', 'google/veo3-1-fast-extend-video']) assert.ok(ids.includes(id), id);
  // An operator's alias is served once the providers file routes it.
  const routed = new OpenAiModels(['*', 'sora-2']);
  assert.deepEqual(routed.resolve('sora-2'), { publicModel: 'veo3', modelId: 'sora-2' });
  assert.ok(routed.list().data.some((model) => model.id === 'sora-2' && model.owned_by === 'segue'));
  assert.equal((await untilDone(first.id)).status, 'completed');
});
