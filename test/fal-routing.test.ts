import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { pino } from 'pino';
import type { FakeFalOptions, FakeFalServer } from '../src/fake-upstream/fake-fal-server.js';
import type { FakeGeminiServer } from '../src/fake-upstream/fake-gemini-server.js';
import { FAKE_FAL_KEY, FAKE_FAL_USER, falEntry, startFakeFal, submits, writeProviders } from './helpers/fake-fal.js';
import { creates, startFakeGemini } from './helpers/fake-gemini.js';
import { download, freePort, VeoClient } from './helpers/http-client.js';
import { media } from './helpers/media-checks.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface Rig {
  readonly fal: FakeFalServer;
  readonly gemini: FakeGeminiServer;
  readonly harness: TestSegue;
  readonly veo: VeoClient;
  readonly baseUrl: string;
}

/** Fake fal and fake Gemini, and a listening Segue whose veo3_fast route is fal, then Gemini. */
async function rig(options: { fal?: Partial<FakeFalOptions>; entry?: Record<string, unknown>; logs?: string[] } = {}): Promise<Rig> {
  const fal = await startFakeFal({ pollsInQueue: 1, pollsInProgress: 1, ...options.fal });
  const gemini = await startFakeGemini();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const chain = ['fal', 'google'];
  const providers = writeProviders(
    {
      fal: falEntry(fal, options.entry),
      google: { kind: 'gemini', apiKeyEnv: 'SEGUE_TEST_GEMINI_KEY', baseUrl: gemini.url, firstPollSeconds: 0.2, pollSeconds: 0.3 },
      local: { kind: 'local' },
    },
    { veo3_fast: chain, 'google/veo3-1-fast-extend-video': chain, '*': ['local'] },
  );
  const logs = options.logs;
  const harness = await startTestSegue({
    environment: { SEGUE_PROVIDERS: providers, SEGUE_ALLOW_PRIVATE_NETWORKS: 'true', SEGUE_PUBLIC_URL: baseUrl },
    ...(logs ? { logger: pino({ level: 'trace' }, new Writable({ write(chunk, _encoding, done) { logs.push(String(chunk)); done(); } })) } : {}),
  });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  cleanups.push(() => harness.close(), () => fal.close(), () => gemini.close());
  return { fal, gemini, harness, veo: new VeoClient(baseUrl, harness.key), baseUrl };
}

async function durationOf(url: string): Promise<number> {
  const file = path.join(temporaryDirectory(), 'video.mp4');
  await download(url, file);
  return (await media.probe(file)).durationSeconds;
}

async function balance(veo: VeoClient): Promise<number> {
  const response = await fetch(`${veo.baseUrl}/api/v1/chat/credit`, { headers: { authorization: `Bearer ${veo.key}` } });
  return ((await response.json()) as { data: number }).data;
}

/** A universal-dialect client over real HTTP. */
function universal(baseUrl: string, key: string) {
  const call = async (method: 'GET' | 'POST', body?: unknown, query = '') => {
    const response = await fetch(`${baseUrl}/v2/video/generations${query}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await response.json()) as any;
  };
  return {
    create: (body: unknown) => call('POST', body),
    done: (id: string) => waitFor(`generation ${id}`, async () => {
      const fetched = await call('GET', undefined, `?generation_id=${id}`);
      return fetched.status === 'completed' || fetched.status === 'error' ? fetched : undefined;
    }, { timeoutMs: 120_000, intervalMs: 200 }),
  };
}

test('Veo dialect: generate on fal (custody at once: fal\'s link may expire) → extend natively on fal from Segue\'s signed copy', async () => {
  const { fal, harness, veo, baseUrl } = await rig();
  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'a red kite over the dunes', model: 'veo3_fast' });
  assert.equal(generated.code, 200);
  const first = await veo.waitUntilDone(generated.data.taskId);
  assert.equal(first.successFlag, 1);
  assert.equal(first.fallbackFlag, false);
  const firstTask = (await harness.segue.storage.tasks.findById(generated.data.taskId))!;
  assert.equal(firstTask.provider, 'fal');
  assert.match(firstTask.upstreamOutput!.uri, new RegExp(`^${fal.url}/files/`));
  assert.equal(firstTask.engineDetails?.['upstreamModel'], 'fal-ai/veo3.1/fast');
  assert.equal(firstTask.engineDetails?.['upstreamCostUsd'], 1.2, 'the configured $0.15/s for 8 s with sound');
  assert.ok(first.response.resultUrls[0].startsWith(baseUrl), 'clients get Segue\'s copy, not fal\'s link');

  // fal's CDN link expires; custody got there first.
  await fetch(`${fal.url}/_fake/expire-files`, { method: 'POST' });
  assert.equal((await fetch(firstTask.upstreamOutput!.uri)).status, 404, 'fal\'s link is gone');
  assert.ok(Math.abs((await durationOf(first.response.resultUrls[0])) - 8) < 0.2, 'Segue\'s copy still plays');

  const extended = await veo.post('/api/v1/veo/extend', { taskId: generated.data.taskId, prompt: 'the kite climbs' });
  assert.equal(extended.code, 200);
  const second = await veo.waitUntilDone(extended.data.taskId);
  assert.equal(second.successFlag, 1, JSON.stringify(second));
  assert.equal(second.extendMethod, 'native');
  assert.match(second.extendReason, /fal extends any video, from Segue's copy/);
  const submit = submits(fal).at(-1)!;
  assert.equal(submit.path, '/fal-ai/veo3.1/fast/extend-video');
  const videoUrl = (submit.body as { video_url: string }).video_url;
  assert.ok(videoUrl.startsWith(`${baseUrl}/files/`) && videoUrl.includes('signature='), `video_url is a signed link to Segue's copy: ${videoUrl}`);
  assert.ok(Math.abs((await durationOf(second.response.fullResultUrls[0])) - 15) < 0.2, 'the whole video: 8 + 7 s');
  assert.ok(Math.abs((await durationOf(second.response.resultUrls[0])) - 7) < 0.3, 'the new seconds alone');
});

test('universal dialect: a fal generation (through two 429s on its status reads), extended natively on fal through its own Segue link', async () => {
  const { fal, harness, baseUrl } = await rig();
  const client = universal(baseUrl, harness.key);
  await fetch(`${fal.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ throttleStatus: 2 }) });
  const created = await client.create({ model: 'google/veo-3.1-t2v-fast', prompt: 'waves on basalt', duration: 8 });
  const generated = await client.done(created.id);
  assert.equal(generated.status, 'completed', JSON.stringify(generated));
  const behaviour = (await (await fetch(`${fal.url}/_fake/config`, { method: 'POST', body: '{}' })).json()) as { throttleStatus: number };
  assert.equal(behaviour.throttleStatus, 0, 'both 429s were served; Segue backed off and polled on, the task never failed');
  const extension = await client.create({ model: 'google/veo3-1-fast-extend-video', prompt: 'a wave breaks', video_url: generated.video.url });
  const extended = await client.done(extension.id);
  assert.equal(extended.status, 'completed', JSON.stringify(extended));
  assert.equal(submits(fal).at(-1)!.path, '/fal-ai/veo3.1/fast/extend-video');
  assert.equal((await harness.segue.storage.tasks.findById(extension.id))!.provider, 'fal');
  assert.ok(Math.abs((await durationOf(extended.video.url)) - 15) < 0.2);
});

test('fallback: a failing fal entry (503 on every submit) hands new tasks to Gemini, through both dialects, with fallbackFlag', async () => {
  const { fal, gemini, harness, veo, baseUrl } = await rig();
  await fetch(`${fal.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ failSubmits: { status: 503, remaining: -1 } }) });
  const before = await balance(veo);
  const viaVeo = await veo.post('/api/v1/veo/generate', { prompt: 'a lantern', model: 'veo3_fast' });
  const done = await veo.waitUntilDone(viaVeo.data.taskId);
  assert.equal(done.successFlag, 1);
  assert.equal(done.fallbackFlag, true);
  const task = (await harness.segue.storage.tasks.findById(viaVeo.data.taskId))!;
  assert.equal(task.provider, 'google');
  assert.deepEqual(task.providerRoute, ['fal', 'google']);
  assert.equal(before - (await balance(veo)), task.price, 'charged once');

  const client = universal(baseUrl, harness.key);
  const created = await client.create({ model: 'google/veo-3.1-t2v-fast', prompt: 'a harbour at night', duration: 8 });
  assert.equal((await client.done(created.id)).status, 'completed');
  assert.equal((await harness.segue.storage.tasks.findById(created.id))!.provider, 'google');
  assert.equal(submits(fal).length, 2, 'each task tried fal once');
  assert.equal(creates(gemini).length, 2, 'then ran on Gemini');
});

test('upstream failures release credits (a refusal, a runner error, an output link that expired before custody); the key is in no log line or task record', async () => {
  const logs: string[] = [];
  const { veo, harness } = await rig({ logs, fal: { fileTtlMs: 0 } });
  const before = await balance(veo);
  const policy = await veo.post('/api/v1/veo/generate', { prompt: '[fake:policy] a crowd', model: 'veo3_fast' });
  const refused = await veo.waitUntilDone(policy.data.taskId);
  assert.equal(refused.successFlag, 3);
  assert.match(refused.errorMessage, /content/i);
  const leaky = await veo.post('/api/v1/veo/generate', { prompt: '[fake:error-with-key] a storm', model: 'veo3_fast' });
  const leaked = await veo.waitUntilDone(leaky.data.taskId);
  assert.equal(leaked.successFlag, 3);
  assert.match(leaked.errorMessage, /\[redacted\]/);
  const lost = await veo.post('/api/v1/veo/generate', { prompt: 'a link that expires at once', model: 'veo3_fast' });
  const gone = await veo.waitUntilDone(lost.data.taskId);
  assert.equal(gone.successFlag, 3);
  assert.match(gone.errorMessage, /could not be fetched: fal's output link answered HTTP 404/);
  assert.equal(await balance(veo), before, 'every hold released');
  for (const id of [policy.data.taskId, leaky.data.taskId, lost.data.taskId]) {
    assert.ok(!JSON.stringify(await harness.segue.storage.tasks.findById(id)).includes(FAKE_FAL_KEY));
  }
  await harness.segue.storage.ping();
  const database = fs.readdirSync(harness.dataDir).filter((name) => name.endsWith('.db') || name.includes('.db-'));
  assert.ok(database.length > 0);
  for (const name of database) assert.ok(!fs.readFileSync(path.join(harness.dataDir, name)).includes(FAKE_FAL_KEY), `${name} holds no key`);
  assert.ok(logs.some((line) => line.includes('task failed')), `logs were captured: ${logs.length} lines`);
  assert.ok(!logs.some((line) => line.includes(FAKE_FAL_KEY) || line.includes('fal-key-secret')), 'no log line holds the key');
});

test('fal webhooks: a signed delivery makes Segue take the video at once; a redelivery is a no-op; forged and stale ones are refused', async () => {
  const { fal, veo, baseUrl, harness } = await rig({
    fal: { generationMs: 300, webhookDeliveries: 2 },
    entry: { webhooks: true, firstPollSeconds: 600, pollSeconds: 600 },
  });
  const created = await veo.post('/api/v1/veo/generate', { prompt: 'fireflies', model: 'veo3_fast' });
  const done = await veo.waitUntilDone(created.data.taskId, 60_000);
  assert.equal(done.successFlag, 1, 'finished long before the first scheduled poll (10 minutes)');
  const submit = submits(fal).at(-1)!;
  assert.equal(new URL(submit.path, fal.url).searchParams.get('fal_webhook'), `${baseUrl}/hooks/fal?segueTaskId=${created.data.taskId}`);
  await waitFor('both deliveries', () => fal.deliveries.length === 2);
  const database = new SqliteDatabase(path.join(harness.dataDir, 'segue.db'), { readonly: true });
  const received = database.prepare("select id from inbound_webhooks where source = 'fal'").all() as Array<{ id: string }>;
  database.close();
  assert.equal(received.length, 1, 'fal delivered twice for one request; Segue acted once');
  assert.deepEqual(fal.deliveries.map((delivery) => delivery.status), [200, 200]);

  const requestId = (await harness.segue.storage.tasks.findById(created.data.taskId))!.engineDetails?.['upstreamOperation'] as string;
  const body = JSON.stringify({ request_id: requestId, gateway_request_id: requestId, status: 'OK', payload: {} });
  const post = (headers: Record<string, string>) =>
    fetch(`${baseUrl}/hooks/fal?segueTaskId=${created.data.taskId}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const signed = (at: number, signer: FakeFalServer = fal) => ({
    'x-fal-webhook-request-id': requestId,
    'x-fal-webhook-user-id': FAKE_FAL_USER,
    'x-fal-webhook-timestamp': String(at),
    'x-fal-webhook-signature': signer.signWebhook(requestId, FAKE_FAL_USER, at, body),
  });
  const now = Math.floor(Date.now() / 1000);
  const stranger = await startFakeFal();
  cleanups.push(() => stranger.close());
  assert.equal((await post(signed(now, stranger))).status, 401, 'signed with a key fal does not publish');
  assert.equal((await post(signed(now - 600))).status, 401, 'older than 300 s');
  assert.deepEqual(await (await post(signed(now))).json(), { status: 'duplicate' }, 'the same request again: acted on once');
});

test('a loopback SEGUE_PUBLIC_URL: fal cannot fetch Segue\'s copy, so the native route is refused with the reason and the extension bridges', async () => {
  const harness = await startTestSegue({
    runWorker: false,
    environment: {
      SEGUE_PROVIDERS: writeProviders(
        { fal: { kind: 'fal', apiKeyEnv: 'SEGUE_TEST_FAL_KEY', baseUrl: 'https://queue.fal.run' } },
        { veo3_fast: ['fal'], 'google/veo3-1-fast-extend-video': ['fal'], '*': ['fal'] },
      ),
      SEGUE_PUBLIC_URL: 'http://127.0.0.1:8080',
    },
  });
  cleanups.push(() => harness.close());
  const clip = path.join(temporaryDirectory(), 'clip.mp4');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=24:d=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
  const response = await harness.segue.http.inject({
    method: 'POST',
    url: '/v2/video/generations',
    headers: harness.headers,
    payload: { model: 'google/veo3-1-fast-extend-video', prompt: 'it goes on', video_url: `data:video/mp4;base64,${fs.readFileSync(clip).toString('base64')}` },
  });
  assert.equal(response.statusCode, 200, response.body);
  const task = (await harness.segue.storage.tasks.findById((response.json() as { id: string }).id))!;
  assert.equal(task.extension?.method, 'bridge');
  assert.match(task.extension!.reason, /not natively on fal \(SEGUE_PUBLIC_URL \(http:\/\/127\.0\.0\.1:8080\) is a loopback address fal cannot reach/);
});
