import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { pino } from 'pino';
import { standardWebhookSignature } from '../src/callbacks/webhook-signatures.js';
import type { FakeGeminiServer, FakeGeminiOptions } from '../src/fake-upstream/fake-gemini-server.js';
import { creates, FAKE_GEMINI_KEY, startFakeGemini, writeProvidersFile } from './helpers/fake-gemini.js';
import { download, freePort, VeoClient } from './helpers/http-client.js';
import { media } from './helpers/media-checks.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { ManualClock } from './helpers/manual-clock.js';
import { waitFor } from './helpers/wait-for.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface Rig {
  /** Segue's and the fake's clock: a test moves it on instead of waiting. */
  readonly clock: ManualClock;
  readonly fake: FakeGeminiServer;
  readonly harness: TestSegue;
  readonly veo: VeoClient;
  readonly baseUrl: string;
}

/** A fake Gemini and a listening Segue whose SEGUE_PROVIDERS routes veo3 and veo3_fast to it, then to local. */
async function rig(options: { fake?: Partial<FakeGeminiOptions>; google?: Record<string, unknown>; environment?: Record<string, string>; logs?: string[] } = {}): Promise<Rig> {
  const clock = new ManualClock();
  const fake = await startFakeGemini({ now: () => clock.now(), ...options.fake });
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const logs = options.logs;
  const logger = logs
    ? pino({ level: 'trace' }, new Writable({ write(chunk, _encoding, done) { logs.push(String(chunk)); done(); } }))
    : undefined;
  const harness = await startTestSegue({
    environment: {
      SEGUE_PROVIDERS: writeProvidersFile(fake.url, options.google),
      SEGUE_ALLOW_PRIVATE_NETWORKS: 'true',
      SEGUE_PUBLIC_URL: baseUrl,
      ...options.environment,
    },
    ...(logger ? { logger } : {}),
    clock,
  });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  cleanups.push(() => harness.close(), () => fake.close());
  return { clock, fake, harness, veo: new VeoClient(baseUrl, harness.key), baseUrl };
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

test('Veo dialect: generate on Gemini → extend natively → extend after Google let the file go: it bridges on Gemini', async () => {
  const { clock, fake, harness, veo } = await rig({ fake: { fileTtlMs: 3_600_000 }, google: { nativeExtensionMaxAgeSeconds: 3_500 } });
  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'a red kite over the dunes', model: 'veo3_fast' });
  assert.equal(generated.code, 200);
  const first = await veo.waitUntilDone(generated.data.taskId);
  assert.equal(first.successFlag, 1);
  assert.equal(first.fallbackFlag, false);
  assert.ok(first.response.resultUrls[0].startsWith(veo.baseUrl), 'clients get Segue\'s own copy, not Google\'s link');
  assert.ok(Math.abs((await durationOf(first.response.resultUrls[0])) - 8) < 0.2);
  const firstTask = (await harness.segue.storage.tasks.findById(generated.data.taskId))!;
  assert.equal(firstTask.provider, 'google');
  assert.match(firstTask.upstreamOutput!.uri, /\/v1beta\/files\/\w+:download/);

  const extended = await veo.post('/api/v1/veo/extend', { taskId: generated.data.taskId, prompt: 'the kite climbs' });
  const second = await veo.waitUntilDone(extended.data.taskId);
  assert.equal(second.successFlag, 1);
  assert.equal(second.fallbackFlag, false);
  const native = creates(fake).at(-1)!.body as { instances: Array<{ video?: { uri: string } }> };
  assert.deepEqual(native.instances[0]!.video, { uri: firstTask.upstreamOutput!.uri }, 'the request carried the earlier video.uri');
  assert.ok(Math.abs((await durationOf(second.response.fullResultUrls[0])) - 15) < 0.2, 'the whole video: 8 + 7 s');
  assert.ok(Math.abs((await durationOf(second.response.resultUrls[0])) - 7) < 0.3, 'the new seconds alone');
  const secondTask = (await harness.segue.storage.tasks.findById(extended.data.taskId))!;
  assert.deepEqual(secondTask.providerRoute, ['google'], 'a native extension is pinned to the account that made its source');

  // An hour later (on the shared clock, not the wall's), Google has let its copy go.
  clock.advance(3_600_000);
  const expired = await fetch(secondTask.upstreamOutput!.uri, { headers: { 'x-goog-api-key': FAKE_GEMINI_KEY }, redirect: 'manual' });
  assert.equal(expired.status, 404, 'Google\'s copy of the extension expired');
  const createsBefore = creates(fake).length;
  const again = await veo.post('/api/v1/veo/extend', { taskId: extended.data.taskId, prompt: 'and lands' });
  assert.equal(again.code, 200);
  const third = await veo.waitUntilDone(again.data.taskId);
  assert.equal(third.successFlag, 1);
  // Issue #14: a real model continues the video (bridge) instead of the local engine; a lesser method is a fallback.
  assert.equal(third.fallbackFlag, true, 'a lesser method than native ran');
  const bridged = creates(fake).slice(createsBefore);
  assert.equal(bridged.length, 1, 'one image-to-video create');
  const instance = (bridged[0]!.body as { instances: Array<Record<string, unknown>> }).instances[0]!;
  assert.equal(instance['video'], undefined, 'no native extension of an expired file');
  assert.ok(instance['image'], 'the source\'s last frame went as the first frame');
  const thirdTask = (await harness.segue.storage.tasks.findById(again.data.taskId))!;
  assert.equal(thirdTask.provider, 'google');
  assert.equal(thirdTask.extension?.method, 'bridge');
  assert.ok(Math.abs((await durationOf(third.response.fullResultUrls[0])) - 22) < 0.3);
});

test('universal dialect: a Gemini generation, extended natively through its own video link; an image reaches Gemini inline', async () => {
  const { fake, baseUrl, harness } = await rig();
  const call = async (method: 'GET' | 'POST', body?: unknown, query = '') => {
    const response = await fetch(`${baseUrl}/v2/video/generations${query}`, {
      method,
      headers: { authorization: `Bearer ${harness.key}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await response.json()) as any;
  };
  const done = (id: string) => waitFor(`generation ${id}`, async () => {
    const fetched = await call('GET', undefined, `?generation_id=${id}`);
    return fetched.status === 'completed' || fetched.status === 'error' ? fetched : undefined;
  }, { timeoutMs: 90_000, intervalMs: 200 });
  const created = await call('POST', { model: 'google/veo-3.1-t2v-fast', prompt: 'waves on basalt', duration: 8 });
  const generated = await done(created.id);
  assert.equal(generated.status, 'completed');
  const extension = await call('POST', { model: 'google/veo3-1-fast-extend-video', prompt: 'a wave breaks', video_url: generated.video.url });
  const extended = await done(extension.id);
  assert.equal(extended.status, 'completed');
  const body = creates(fake).at(-1)!.body as { instances: Array<{ video?: { uri: string } }> };
  assert.match(body.instances[0]!.video!.uri, /\/v1beta\/files\/\w+:download/, 'extended natively on Gemini');
  assert.ok(Math.abs((await durationOf(extended.video.url)) - 15) < 0.2);

  // A user's image goes through the real fetch (a data: URI here) and reaches Gemini inline.
  const picture = path.join(temporaryDirectory(), 'first.png');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=1:duration=1', '-frames:v', '1', picture]);
  const bytes = fs.readFileSync(picture).toString('base64');
  const fromImage = await call('POST', { model: 'google/veo-3.1-i2v-fast', prompt: 'it comes alive', image_url: `data:image/png;base64,${bytes}` });
  assert.equal((await done(fromImage.id)).status, 'completed');
  const sent = creates(fake).at(-1)!.body as { instances: Array<{ image?: unknown }>; parameters: Record<string, unknown> };
  assert.deepEqual(sent.instances[0]!.image, { bytesBase64Encoded: bytes, mimeType: 'image/png' });
  assert.equal(sent.parameters['personGeneration'], 'allow_adult');
});

test('a failing entry: new tasks fall over to local with fallbackFlag set; the open breaker shows in /readyz and skips the entry', async () => {
  const { fake, veo, baseUrl } = await rig({ google: { breakerThreshold: 2, breakerCooldownSeconds: 600 } });
  await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ failCreates: { status: 503, remaining: -1 } }) });
  for (const prompt of ['first', 'second']) {
    const created = await veo.post('/api/v1/veo/generate', { prompt, model: 'veo3' });
    const done = await veo.waitUntilDone(created.data.taskId);
    assert.equal(done.successFlag, 1);
    assert.equal(done.fallbackFlag, true);
  }
  assert.equal(creates(fake).length, 2);
  const ready = (await (await fetch(`${baseUrl}/readyz`)).json()) as any;
  assert.equal(ready.status, 'ready', 'other entries still serve');
  assert.equal(ready.providers.google.breaker, 'open');
  assert.match(ready.providers.google.lastFailure, /503 UNAVAILABLE/);
  const third = await veo.post('/api/v1/veo/generate', { prompt: 'third', model: 'veo3' });
  assert.equal((await veo.waitUntilDone(third.data.taskId)).fallbackFlag, true);
  assert.equal(creates(fake).length, 2, 'the open breaker sent nothing more to the failing entry');
});

test('a native extension never leaves its account: upstream trouble delays it, the retries carry the same video.uri', async () => {
  const { fake, veo, harness } = await rig();
  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'a lantern', model: 'veo3_fast' });
  await veo.waitUntilDone(generated.data.taskId);
  await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ failCreates: { status: 503, remaining: 2 } }) });
  const extended = await veo.post('/api/v1/veo/extend', { taskId: generated.data.taskId, prompt: 'it glows' });
  const done = await veo.waitUntilDone(extended.data.taskId);
  assert.equal(done.successFlag, 1);
  assert.equal(done.fallbackFlag, false);
  const task = (await harness.segue.storage.tasks.findById(extended.data.taskId))!;
  assert.equal(task.provider, 'google');
  const source = (await harness.segue.storage.tasks.findById(generated.data.taskId))!;
  const extensionCalls = creates(fake).filter((request) => (request.body as { instances: Array<{ video?: unknown }> }).instances[0]!.video);
  assert.equal(extensionCalls.length, 3, 'two refused creates, then the accepted one');
  for (const call of extensionCalls) {
    assert.deepEqual((call.body as { instances: Array<{ video?: unknown }> }).instances[0]!.video, { uri: source.upstreamOutput!.uri });
  }
  assert.deepEqual(task.providerRoute, ['google']);
});

test('a filtered result releases its credits; a key never reaches a log line or a task record', async () => {
  const logs: string[] = [];
  const { veo, harness } = await rig({ logs });
  const before = await balance(veo);
  const filtered = await veo.post('/api/v1/veo/generate', { prompt: '[fake:rai] a crowd', model: 'veo3_fast' });
  const failed = await veo.waitUntilDone(filtered.data.taskId);
  assert.equal(failed.successFlag, 3);
  assert.equal(failed.errorCode, 400);
  assert.match(failed.errorMessage, /content polic/);
  assert.equal(await balance(veo), before, 'credits released');

  const leaky = await veo.post('/api/v1/veo/generate', { prompt: '[fake:error-with-key] a storm', model: 'veo3_fast' });
  const leaked = await veo.waitUntilDone(leaky.data.taskId);
  assert.equal(leaked.successFlag, 3);
  assert.match(leaked.errorMessage, /\[redacted\]/);
  assert.equal(await balance(veo), before);
  await harness.segue.storage.ping();
  const database = fs.readdirSync(harness.dataDir).filter((name) => name.endsWith('.db') || name.includes('.db-'));
  assert.ok(database.length > 0);
  for (const name of database) {
    assert.ok(!fs.readFileSync(path.join(harness.dataDir, name)).includes(FAKE_GEMINI_KEY), `${name} holds no key`);
  }
  assert.ok(logs.some((line) => line.includes('task failed')), `logs were captured: ${logs.length} lines`);
  assert.ok(!logs.some((line) => line.includes(FAKE_GEMINI_KEY)), 'no log line holds the key');
});

test('Gemini webhooks: a signed delivery makes Segue take the video at once; a redelivery is a no-op; a forged one is refused', async () => {
  const secret = `whsec_${Buffer.from('gemini-webhook-test-secret-0123').toString('base64')}`;
  process.env['SEGUE_TEST_GEMINI_WEBHOOK_SECRET'] = secret;
  const { veo, baseUrl, harness } = await rig({
    fake: { pollsUntilDone: 0, generationMs: 300, webhookSecret: secret, webhookDeliveries: 2 },
    google: { firstPollSeconds: 600, pollSeconds: 600, webhookSecretEnv: 'SEGUE_TEST_GEMINI_WEBHOOK_SECRET' },
  });
  const created = await veo.post('/api/v1/veo/generate', { prompt: 'fireflies', model: 'veo3_fast' });
  const done = await veo.waitUntilDone(created.data.taskId, 60_000);
  assert.equal(done.successFlag, 1, 'finished long before the first scheduled poll (10 minutes)');
  const database = new SqliteDatabase(path.join(harness.dataDir, 'segue.db'), { readonly: true });
  const received = database.prepare("select id from inbound_webhooks where source = 'google'").all() as Array<{ id: string }>;
  database.close();
  assert.equal(received.length, 1, 'the fake delivered twice with one webhook-id; Segue acted once');
  const body = JSON.stringify({ type: 'video.generated', data: { user_metadata: { segueTaskId: created.data.taskId } } });
  const timestamp = Math.floor(Date.now() / 1000);
  const post = (signature: string, id = 'msg_forged', at = timestamp) =>
    fetch(`${baseUrl}/hooks/google`, { method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(at), 'webhook-signature': signature }, body });
  assert.equal((await post('v1,AAAA')).status, 401);
  assert.equal((await post(standardWebhookSignature(secret, 'msg_old', timestamp - 600, body), 'msg_old', timestamp - 600)).status, 401, 'older than 5 minutes');
  const good = standardWebhookSignature(secret, 'msg_twice', timestamp, body);
  assert.deepEqual(await (await post(good, 'msg_twice')).json(), { status: 'accepted' });
  assert.deepEqual(await (await post(good, 'msg_twice')).json(), { status: 'duplicate' });
});

test('per-entry concurrency: tasks beyond maxConcurrent wait queued on their entry, then run there (not failed, not moved)', async () => {
  const { fake, veo } = await rig({ fake: { pollsUntilDone: 0, generationMs: 1_000 }, google: { maxConcurrent: 1 } });
  const ids: string[] = [];
  for (const prompt of ['one', 'two', 'three']) ids.push((await veo.post('/api/v1/veo/generate', { prompt, model: 'veo3_fast' })).data.taskId);
  for (const id of ids) {
    const done = await veo.waitUntilDone(id);
    assert.equal(done.successFlag, 1);
    assert.equal(done.fallbackFlag, false);
  }
  const operations = (await (await fetch(`${fake.url}/_fake/operations`)).json()) as Array<{ createdAt: number; doneServedAt: number }>;
  assert.equal(operations.length, 3);
  operations.sort((a, b) => a.createdAt - b.createdAt);
  for (let index = 1; index < operations.length; index++) {
    assert.ok(operations[index]!.createdAt >= operations[index - 1]!.doneServedAt, 'the next create waited for the running one to finish');
  }
});
