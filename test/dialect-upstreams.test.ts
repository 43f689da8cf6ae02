import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { veoWebhookSignature } from '../src/callbacks/webhook-signatures.js';
import type { Task } from '../src/domain/task.js';
import { startCallbackReceiver } from './helpers/callback-receiver.js';
import { download, freePort, VeoClient } from './helpers/http-client.js';
import { media } from './helpers/media-checks.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * Two real Segues: the upstream runs on its embedded engine and serves both dialects; the
 * downstream has a `veo-dialect` entry (veo3_fast) and a `universal-dialect` entry (veo3) in
 * front of it, as an operator would put Segue in front of kie.ai or aimlapi.com.
 */
const scratch = temporaryDirectory('segue-dialects-');
const cleanups: Array<() => Promise<void>> = [];
const logLines: string[] = [];
let upstream: Upstream;
let downstream: TestSegue;
let downstreamUrl: string;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;

interface Upstream {
  readonly harness: TestSegue;
  readonly url: string;
  /** The downstream's key on the upstream (not the upstream's bootstrap key). */
  readonly key: string;
  readonly keyId: string;
  readonly hmacKey: string;
}

async function startUpstream(environment: Record<string, string> = {}, runWorker = true): Promise<Upstream> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const harness = await startTestSegue({ runWorker, environment: { SEGUE_ALLOW_PRIVATE_NETWORKS: 'true', SEGUE_PUBLIC_URL: url, ...environment } });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  cleanups.push(() => harness.close());
  const issued = await harness.segue.keys.create('downstream segue', 1_000_000);
  const hmacKey = (await harness.segue.keys.setVeoHmacKey(issued.id, true))!;
  return { harness, url, key: issued.key, keyId: issued.id, hmacKey };
}

/** A downstream Segue whose entries `kie` and `aiml` point at `target`; its logs are kept in `logLines`. */
async function startDownstream(target: Upstream, variablePrefix: string): Promise<{ harness: TestSegue; url: string }> {
  process.env[`${variablePrefix}_KEY`] = target.key;
  process.env[`${variablePrefix}_HMAC`] = target.hmacKey;
  const polling = { firstPollSeconds: 0.2, pollSeconds: 0.3, requestTimeoutSeconds: 10 };
  const providersFile = path.join(scratch, `${variablePrefix}-providers.json`);
  fs.writeFileSync(
    providersFile,
    JSON.stringify({
      providers: {
        kie: { kind: 'veo-dialect', baseUrl: target.url, apiKeyEnv: `${variablePrefix}_KEY`, webhookHmacKeyEnv: `${variablePrefix}_HMAC`, ...polling },
        aiml: { kind: 'universal-dialect', baseUrl: target.url, apiKeyEnv: `${variablePrefix}_KEY`, ...polling },
        local: { kind: 'local' },
      },
      routes: { veo3_fast: ['kie'], veo3: ['aiml'], '*': ['local'] },
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  const harness = await startTestSegue({ logger, environment: { SEGUE_PROVIDERS: providersFile, SEGUE_ALLOW_PRIVATE_NETWORKS: 'true', SEGUE_PUBLIC_URL: url } });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  cleanups.push(() => harness.close());
  return { harness, url };
}

before(async () => {
  upstream = await startUpstream();
  ({ harness: downstream, url: downstreamUrl } = await startDownstream(upstream, 'CHAIN_UPSTREAM'));
  receiver = await startCallbackReceiver();
  cleanups.push(() => receiver.close());
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** A real HTTP proxy in front of an upstream that records the paths asked for. */
async function startRecordingProxy(target: string): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  const server = http.createServer((request, response) => {
    paths.push(request.url ?? '');
    const forwarded = http.request(`${target}${request.url}`, { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
}

async function taskOf(harness: TestSegue, id: string): Promise<Task> {
  const task = await harness.segue.storage.tasks.findById(id);
  assert.ok(task, `task ${id} exists`);
  return task;
}

/** The service's own task id, as the downstream stored it. */
async function upstreamIdOf(id: string, harness: TestSegue = downstream): Promise<string> {
  return ((await taskOf(harness, id)).providerHandle as { operation: string }).operation;
}

async function ledgerOf(harness: TestSegue, taskId: string): Promise<string[]> {
  const key = (await harness.segue.keys.authenticate(harness.key))!;
  return (await harness.segue.keys.history(key.id, 1000)).filter((entry) => entry.taskId === taskId).map((entry) => entry.kind).sort();
}

async function durationOf(url: string, name: string): Promise<{ seconds: number; width: number; height: number }> {
  const file = path.join(scratch, name);
  await download(url, file);
  const info = await media.probe(file);
  return { seconds: info.durationSeconds, width: info.video!.width, height: info.video!.height };
}

/** Asks the downstream for the 1080p version until it answers the link. */
async function fullHd(veo: VeoClient, taskId: string): Promise<string> {
  return waitFor(
    `the 1080p version of ${taskId}`,
    async () => {
      const response = await fetch(`${veo.baseUrl}/api/v1/veo/get-1080p-video?taskId=${taskId}`, { headers: { authorization: `Bearer ${veo.key}` } });
      const body = (await response.json()) as { code: number; msg: string; data: { resultUrl?: string } | null };
      assert.ok(body.code === 200 || body.code === 400, `the 1080p route answers ready or processing: ${JSON.stringify(body)}`);
      return body.code === 200 ? body.data!.resultUrl : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 300 },
  ).catch(async (error: Error) => {
    const upgrade = await downstream.segue.storage.tasks.findChild(taskId, 'upgrade_1080p');
    throw new Error(`${error.message}; the upgrade: ${JSON.stringify({ state: upgrade?.state, provider: upgrade?.provider, handle: upgrade?.providerHandle, failure: upgrade?.failure })}`);
  });
}

test('veo-dialect: generate → native extension by the upstream task id → 1080p on the upstream → callbacks, through two Segues', async () => {
  const veo = new VeoClient(downstreamUrl, downstream.key);
  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'a lighthouse at dusk', model: 'veo3_fast', seeds: 24680, callBackUrl: receiver.url });
  assert.equal(generated.code, 200, generated.msg);
  const source = await veo.waitUntilDone(generated.data.taskId, 180_000);
  assert.equal(source.successFlag, 1, source.errorMessage);
  const sourceTask = await taskOf(downstream, generated.data.taskId);
  assert.equal(sourceTask.provider, 'kie');
  const upstreamSourceId = await upstreamIdOf(sourceTask.id);
  const upstreamSource = await taskOf(upstream.harness, upstreamSourceId);
  assert.equal(upstreamSource.state, 'succeeded', 'the upstream made the video');
  assert.equal(upstreamSource.apiKeyId, upstream.keyId, 'with the key of the downstream entry');
  assert.equal(upstreamSource.parameters.model, 'veo3_fast');
  assert.equal(upstreamSource.seed, 24680, 'the seed travels');
  assert.match(upstreamSource.callbackUrl ?? '', new RegExp(`^${downstreamUrl}/hooks/kie\\?task=${sourceTask.id}$`), 'the upstream calls the downstream back');
  assert.equal((await durationOf(source.response.resultUrls[0], 'generated.mp4')).seconds.toFixed(0), '8');
  assert.ok(source.response.resultUrls[0].startsWith(downstreamUrl), 'the client gets a link to the downstream\'s own copy');

  // The upstream's signed callback reached the downstream's hook (a hint; record-info decided).
  const hooks = await waitFor('the upstream callback delivered', async () => {
    const deliveries = await upstream.harness.segue.callbacks.listForTask(upstreamSourceId, upstream.keyId);
    return deliveries.find((delivery) => delivery.state === 'delivered');
  });
  assert.equal(hooks.lastStatusCode, 200);

  const extended = await veo.post('/api/v1/veo/extend', { taskId: sourceTask.id, prompt: 'the beam sweeps the sea', callBackUrl: receiver.url });
  assert.equal(extended.code, 200, extended.msg);
  const extension = await veo.waitUntilDone(extended.data.taskId, 180_000);
  assert.equal(extension.successFlag, 1, extension.errorMessage);
  assert.equal(extension.extendMethod, 'native');
  assert.equal(extension.fallbackFlag, false);
  const extensionTask = await taskOf(downstream, extended.data.taskId);
  assert.deepEqual([extensionTask.provider, extensionTask.providerRoute], ['kie', ['kie']], 'pinned to the entry that made the source');
  const upstreamExtension = await taskOf(upstream.harness, await upstreamIdOf(extensionTask.id));
  assert.equal(upstreamExtension.operation, 'extend');
  assert.equal(upstreamExtension.parentTaskId, upstreamSourceId, 'extended on the upstream by its own task id');
  const whole = await durationOf(extension.response.fullResultUrls[0], 'extended.mp4');
  const segment = await durationOf(extension.response.resultUrls[0], 'segment.mp4');
  assert.ok(Math.abs(whole.seconds - 15) < 0.2, `source + 7 s (${whole.seconds})`);
  assert.ok(Math.abs(segment.seconds - 7) < 0.2, `the new seconds alone (${segment.seconds})`);

  const link = await fullHd(veo, extensionTask.id);
  const upgradeTask = await downstream.segue.storage.tasks.findChild(extensionTask.id, 'upgrade_1080p');
  assert.equal(upgradeTask?.provider, 'kie', 'the upgrade ran on the entry that made the video');
  const upstreamUpgrade = await upstream.harness.segue.storage.tasks.findChild(upstreamExtension.id, 'upgrade_1080p');
  assert.equal(upstreamUpgrade?.state, 'succeeded', 'the upstream\'s own get-1080p-video made it');
  const upgraded = await durationOf(link, 'upgraded.mp4');
  assert.deepEqual([upgraded.width, upgraded.height], [1920, 1080]);
  assert.ok(Math.abs(upgraded.seconds - 15) < 0.2);
  assert.ok(link.startsWith(downstreamUrl), 'in the downstream\'s custody');

  const callbacks = await waitFor('both callbacks to the client', () => {
    const ours = receiver.received.filter((callback) => [sourceTask.id, extensionTask.id].includes(callback.body?.data?.taskId));
    return ours.length >= 2 ? ours : undefined;
  });
  const bodies = new Map(callbacks.map((callback) => [callback.body.data.taskId, callback.body]));
  assert.equal(bodies.get(sourceTask.id).msg, 'Veo3.1 video generated successfully.');
  assert.equal(bodies.get(extensionTask.id).msg, 'Veo3.1 video extension successful.');
  assert.ok(bodies.get(extensionTask.id).data.info.fullResultUrls[0].startsWith(downstreamUrl));
  assert.deepEqual(await ledgerOf(downstream, extensionTask.id), ['capture', 'hold']);
});

test('universal-dialect: generate → extension by a signed link to the downstream\'s copy → 1080p → callbacks, through two Segues', async () => {
  const veo = new VeoClient(downstreamUrl, downstream.key);
  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'wind over a wheat field', model: 'veo3', aspectRatio: '9:16', callBackUrl: receiver.url });
  assert.equal(generated.code, 200, generated.msg);
  const source = await veo.waitUntilDone(generated.data.taskId, 180_000);
  assert.equal(source.successFlag, 1, source.errorMessage);
  const sourceTask = await taskOf(downstream, generated.data.taskId);
  assert.equal(sourceTask.provider, 'aiml');
  assert.equal((sourceTask.providerHandle as { model: string }).model, 'google/veo-3.1-t2v', 'the per-operation model id');
  const upstreamSource = await taskOf(upstream.harness, await upstreamIdOf(sourceTask.id));
  assert.equal(upstreamSource.dialect, 'universal');
  assert.equal(upstreamSource.parameters.aspectRatio, '9:16');
  const generatedVideo = await durationOf(source.response.resultUrls[0], 'universal-generated.mp4');
  assert.deepEqual([generatedVideo.width, generatedVideo.height], [720, 1280]);

  const extended = await veo.post('/api/v1/veo/extend', { taskId: sourceTask.id, prompt: 'the wheat bends', callBackUrl: receiver.url });
  assert.equal(extended.code, 200, extended.msg);
  const extension = await veo.waitUntilDone(extended.data.taskId, 180_000);
  assert.equal(extension.successFlag, 1, extension.errorMessage);
  assert.equal(extension.extendMethod, 'native');
  assert.match(extension.extendReason, /extends any video, from Segue's copy/);
  const extensionTask = await taskOf(downstream, extended.data.taskId);
  assert.equal(extensionTask.provider, 'aiml');
  const upstreamExtension = await taskOf(upstream.harness, await upstreamIdOf(extensionTask.id));
  assert.equal((extensionTask.providerHandle as { model: string }).model, 'google/veo3-1-extend-video');
  assert.ok(upstreamExtension.parameters.sourceVideoUrl?.startsWith(`${downstreamUrl}/`), 'video_url is a link to the downstream\'s copy');
  assert.match(upstreamExtension.parameters.sourceVideoUrl!, /[?&](sig|signature|expires|exp)=/i, 'a signed link');
  const whole = await durationOf(extension.response.fullResultUrls[0], 'universal-extended.mp4');
  assert.ok(Math.abs(whole.seconds - 15) < 0.2, `source + 7 s (${whole.seconds})`);

  // The universal dialect has no upgrade: the 1080p version is made from Segue's copy where the configuration allows.
  const link = await fullHd(veo, extensionTask.id);
  const upgradeTask = await downstream.segue.storage.tasks.findChild(extensionTask.id, 'upgrade_1080p');
  assert.equal(upgradeTask?.provider, 'local');
  const upgraded = await durationOf(link, 'universal-upgraded.mp4');
  assert.deepEqual([upgraded.width, upgraded.height], [1080, 1920]);

  const callbacks = await waitFor('both callbacks to the client', () => {
    const ours = receiver.received.filter((callback) => [sourceTask.id, extensionTask.id].includes(callback.body?.data?.taskId));
    return ours.length >= 2 ? ours : undefined;
  });
  assert.ok(callbacks.every((callback) => callback.body.code === 200));
});

test('veo-dialect: a video the upstream did not make extends by bridge: its last frame, as a signed link, to the upstream\'s image-to-video', async () => {
  const veo = new VeoClient(downstreamUrl, downstream.key);
  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'a kite over the dunes', model: 'veo3_lite' });
  const source = await veo.waitUntilDone(generated.data.taskId, 180_000);
  assert.equal(source.successFlag, 1, source.errorMessage);
  assert.equal((await taskOf(downstream, generated.data.taskId)).provider, 'local');

  const extended = await veo.post('/api/v1/veo/extend', { taskId: generated.data.taskId, prompt: 'the kite climbs', model: 'fast' });
  assert.equal(extended.code, 200, extended.msg);
  const extension = await veo.waitUntilDone(extended.data.taskId, 240_000);
  assert.equal(extension.successFlag, 1, extension.errorMessage);
  assert.equal(extension.extendMethod, 'bridge');
  assert.match(extension.extendReason, /kie continues the video's last frame with image-to-video/);
  const extensionTask = await taskOf(downstream, extended.data.taskId);
  assert.equal(extensionTask.provider, 'kie');
  const upstreamClip = await taskOf(upstream.harness, await upstreamIdOf(extensionTask.id));
  assert.deepEqual([upstreamClip.operation, upstreamClip.parameters.mode], ['generate', 'first_and_last_frames'], 'an image-to-video create upstream, no extension');
  assert.equal(upstreamClip.parameters.imageUrls.length, 1);
  assert.ok(upstreamClip.parameters.imageUrls[0]!.startsWith(`${downstreamUrl}/`), 'the frame went as a link to the downstream\'s copy');
  const whole = await durationOf(extension.response.fullResultUrls[0], 'bridged.mp4');
  assert.ok(Math.abs(whole.seconds - 15) < 0.2, `source + 7 s (${whole.seconds})`);

  // The upstream holds only the clip: neither a native extension nor its 1080p of the joined video runs there.
  const again = await veo.post('/api/v1/veo/extend', { taskId: extensionTask.id, prompt: 'and higher', model: 'fast' });
  assert.equal(again.code, 200, again.msg);
  assert.equal((await taskOf(downstream, again.data.taskId)).extension?.method, 'bridge');
  const upgrade = await fetch(`${downstreamUrl}/api/v1/veo/get-1080p-video?taskId=${extensionTask.id}`, { headers: { authorization: `Bearer ${downstream.key}` } });
  assert.equal(((await upgrade.json()) as { code: number }).code, 400, '1080P is processing');
  assert.equal((await downstream.segue.storage.tasks.findChild(extensionTask.id, 'upgrade_1080p'))?.provider, 'local', 'placed where Segue\'s copy can be upgraded');
});

test('a universal-dialect client\'s generation runs on the universal-dialect entry with its model id', async () => {
  const created = await fetch(`${downstreamUrl}/v2/video/generations`, {
    method: 'POST',
    headers: downstream.headers,
    body: JSON.stringify({ model: 'google/veo-3.1-t2v', prompt: 'rain on a tin roof', duration: 4, resolution: '720p' }),
  });
  const reply = (await created.json()) as { id: string };
  assert.equal(created.status, 200, JSON.stringify(reply));
  const done = await waitFor('the generation', async () => {
    const polled = (await (await fetch(`${downstreamUrl}/v2/video/generations?generation_id=${reply.id}`, { headers: downstream.headers })).json()) as any;
    return polled.status === 'completed' || polled.status === 'error' ? polled : undefined;
  }, { timeoutMs: 180_000, intervalMs: 250 });
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  const upstreamTask = await taskOf(upstream.harness, await upstreamIdOf(reply.id));
  assert.equal(upstreamTask.parameters.durationSeconds, 4);
  assert.ok(Math.abs((await durationOf(done.video.url, 'four-seconds.mp4')).seconds - 4) < 0.2);
});

test('an upstream failure fails the task and releases its credits, on both kinds', async () => {
  const missing = http.createServer((_request, response) => response.writeHead(404).end());
  await new Promise<void>((resolve) => missing.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => missing.close(() => resolve())));
  const imageUrl = `http://127.0.0.1:${(missing.address() as AddressInfo).port}/gone.png`;
  const veo = new VeoClient(downstreamUrl, downstream.key);
  for (const model of ['veo3_fast', 'veo3']) {
    const generated = await veo.post('/api/v1/veo/generate', { prompt: 'a picture that is not there', model, imageUrls: [imageUrl], callBackUrl: receiver.url });
    assert.equal(generated.code, 200, generated.msg);
    const done = await veo.waitUntilDone(generated.data.taskId, 120_000);
    assert.equal(done.successFlag, 3, `${model}: failed during generation`);
    const task = await taskOf(downstream, generated.data.taskId);
    assert.equal(task.provider, model === 'veo3_fast' ? 'kie' : 'aiml');
    assert.equal((await taskOf(upstream.harness, await upstreamIdOf(task.id))).state, 'failed', 'the upstream failed it');
    assert.deepEqual(await ledgerOf(downstream, task.id), ['hold', 'release'], `${model}: held, then released`);
  }
});

test('an upstream that refuses the key fails the task before generation, releases its credits, and the key is not repeated', async () => {
  const wrongKey = 'sk-wrong-upstream-key-0123456789';
  const { harness, url } = await startDownstream({ ...upstream, key: wrongKey }, 'REFUSED_UPSTREAM');
  const veo = new VeoClient(url, harness.key);
  for (const model of ['veo3_fast', 'veo3']) {
    const generated = await veo.post('/api/v1/veo/generate', { prompt: 'never made', model });
    assert.equal(generated.code, 200, generated.msg);
    const done = await veo.waitUntilDone(generated.data.taskId, 60_000);
    assert.equal(done.successFlag, 2, `${model}: failed before any upstream accepted it`);
    assert.match(done.errorMessage, /401/);
    assert.ok(!done.errorMessage.includes(wrongKey));
    assert.deepEqual(await ledgerOf(harness, generated.data.taskId), ['hold', 'release']);
  }
});

test('forged and stale callbacks are refused; a signed one only makes the poll come sooner, and record-info decides', async () => {
  // An upstream whose worker does not run: its tasks stay "generating".
  const frozen = await startUpstream({}, false);
  const proxy = await startRecordingProxy(frozen.url);
  const { harness, url } = await startDownstream({ ...frozen, url: proxy.url }, 'FROZEN_UPSTREAM');
  const veo = new VeoClient(url, harness.key);
  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'a clock without hands', model: 'veo3_fast' });
  assert.equal(generated.code, 200, generated.msg);
  const taskId = generated.data.taskId as string;
  const upstreamId = await waitFor('the upstream accepted the task', async () => ((await taskOf(harness, taskId)).providerHandle as { operation?: string } | null)?.operation);

  const forgedBody = JSON.stringify({ code: 200, msg: 'Veo3.1 video generated successfully.', data: { taskId: upstreamId, info: { resultUrls: ['http://127.0.0.1:1/evil.mp4'] } } });
  const now = Math.floor(Date.now() / 1000);
  const hook = (headers: Record<string, string>) =>
    fetch(`${url}/hooks/kie?task=${taskId}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: forgedBody });
  assert.equal((await hook({})).status, 401, 'unsigned');
  assert.equal((await hook({ 'x-webhook-timestamp': String(now), 'x-webhook-signature': veoWebhookSignature('not-the-key', upstreamId, now) })).status, 401, 'signed with another key');
  const stale = now - 3600;
  assert.equal((await hook({ 'x-webhook-timestamp': String(stale), 'x-webhook-signature': veoWebhookSignature(frozen.hmacKey, upstreamId, stale) })).status, 401, 'an hour old');
  const signed = { 'x-webhook-timestamp': String(now), 'x-webhook-signature': veoWebhookSignature(frozen.hmacKey, upstreamId, now) };
  const recordReads = () => proxy.paths.filter((line) => line.includes(`record-info?taskId=${upstreamId}`)).length;
  const readsBefore = recordReads();
  const accepted = await hook(signed);
  assert.equal(accepted.status, 200);
  assert.deepEqual(await accepted.json(), { status: 'accepted' });
  assert.deepEqual(await (await hook(signed)).json(), { status: 'duplicate' }, 'a replay is not acted on again');

  // The body claimed success; record-info says the upstream is still generating: nothing moves.
  await waitFor('record-info read again after the hint', () => recordReads() > readsBefore);
  const info = await veo.recordInfo(taskId);
  assert.equal(info.data.successFlag, 0, 'still generating');
  const task = await taskOf(harness, taskId);
  assert.equal(task.state, 'running');
  assert.equal(task.upstreamOutput, null, 'the forged link was never taken');
  assert.deepEqual(await ledgerOf(harness, taskId), ['hold'], 'no money moved');
});

test('an upstream that answers 429 is asked again later; both tasks run once upstream', async () => {
  const limited = await startUpstream({ SEGUE_RATE_LIMIT: '1/4s' });
  const { harness, url } = await startDownstream(limited, 'LIMITED_UPSTREAM');
  const veo = new VeoClient(url, harness.key);
  const first = await veo.post('/api/v1/veo/generate', { prompt: 'first of two', model: 'veo3_fast' });
  const second = await veo.post('/api/v1/veo/generate', { prompt: 'second of two', model: 'veo3_fast' });
  const ids = [first.data.taskId as string, second.data.taskId as string];
  const gate = await waitFor('a 429 recorded on the entry', async () => {
    const state = await harness.segue.storage.gates.find('kie');
    return state?.lastFailure?.includes('429') ? state : undefined;
  }, { timeoutMs: 60_000 });
  assert.match(gate.lastFailure!, /429/);
  for (const id of ids) assert.equal((await veo.waitUntilDone(id, 180_000)).successFlag, 1);
  const upstreamIds = await Promise.all(ids.map((id) => upstreamIdOf(id, harness)));
  assert.equal(new Set(upstreamIds).size, 2);
  const upstreamKey = (await limited.harness.segue.keys.authenticate(limited.key))!;
  const upstreamHolds = (await limited.harness.segue.keys.history(upstreamKey.id, 1000)).filter((entry) => entry.kind === 'hold');
  assert.equal(upstreamHolds.length, 2, 'no create ran twice upstream');
});

test('the upstream API key never appears in the downstream\'s logs or task records', async () => {
  const keys = [upstream.key, process.env['FROZEN_UPSTREAM_KEY'], process.env['LIMITED_UPSTREAM_KEY'], process.env['REFUSED_UPSTREAM_KEY']].filter((key): key is string => Boolean(key));
  assert.ok(logLines.length > 20, 'the downstream logged its work');
  for (const key of keys) {
    assert.ok(!logLines.some((line) => line.includes(key)), 'not in a log line');
  }
  const rows: Task[] = [];
  for (const state of ['queued', 'running', 'reconciling', 'succeeded', 'failed'] as const) rows.push(...(await downstream.segue.storage.tasks.listByState(state, 1000)));
  assert.ok(rows.length > 5 && rows.every((row) => row.providerHandle !== null || row.provider === 'local'));
  const records = JSON.stringify(rows);
  for (const key of keys) assert.ok(!records.includes(key), 'not in a task record');
});
