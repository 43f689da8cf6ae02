import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { standardWebhookSignature } from '../src/callbacks/webhook-signatures.js';
import type { FakeReplicateOptions, FakeReplicateServer } from '../src/fake-upstream/fake-replicate-server.js';
import { creates, FAKE_REPLICATE_TOKEN, startFakeReplicate, writeReplicateProvidersFile } from './helpers/fake-replicate.js';
import { download, freePort, VeoClient } from './helpers/http-client.js';
import { ManualClock } from './helpers/manual-clock.js';
import { framePsnr, media } from './helpers/media-checks.js';
import { sharedDirectory, sharedMissing } from './helpers/shared-material.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

const scratch = temporaryDirectory('segue-replicate-');
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

interface Rig {
  readonly fake: FakeReplicateServer;
  readonly harness: TestSegue;
  readonly baseUrl: string;
  readonly veo: VeoClient;
  /** Every log line Segue wrote (trace level). */
  readonly logs: string[];
}

/** A fake Replicate and a listening Segue whose veo3/veo3_fast (and the universal fast extend id) route to it. */
async function rig(options: { fake?: Partial<FakeReplicateOptions>; entry?: Record<string, unknown>; environment?: Record<string, string>; clock?: ManualClock } = {}): Promise<Rig> {
  const fake = await startFakeReplicate({ ...(options.clock ? { now: () => options.clock!.now() } : {}), ...options.fake });
  cleanups.push(() => fake.close());
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const logs: string[] = [];
  const harness = await startTestSegue({
    environment: {
      SEGUE_PROVIDERS: writeReplicateProvidersFile(fake.url, options.entry),
      SEGUE_ALLOW_PRIVATE_NETWORKS: 'true',
      SEGUE_PUBLIC_URL: baseUrl,
      ...options.environment,
    },
    logger: pino({ level: 'trace' }, { write: (line: string) => void logs.push(line) }),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  cleanups.push(() => harness.close());
  return { fake, harness, baseUrl, veo: new VeoClient(baseUrl, harness.key), logs };
}

async function ledgerOf(harness: TestSegue, taskId: string): Promise<string[]> {
  const key = (await harness.segue.keys.authenticate(harness.key))!;
  return (await harness.segue.keys.history(key.id, 1000)).filter((entry) => entry.taskId === taskId).map(({ kind }) => kind).sort();
}

/** The token is nowhere Segue writes: not in its logs, not in the task's record. */
async function assertTokenNowhere(rig: Rig, taskId: string): Promise<void> {
  const record = JSON.stringify(await rig.harness.segue.storage.tasks.findById(taskId));
  assert.ok(!record.includes(FAKE_REPLICATE_TOKEN), 'the token is not in the task record');
  assert.ok(rig.logs.length > 0);
  assert.ok(!rig.logs.some((line) => line.includes(FAKE_REPLICATE_TOKEN)), 'the token is not in any log line');
  const data = fs.readdirSync(rig.harness.dataDir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile() && /\.db(-wal)?$/.test(entry.name));
  for (const file of data) assert.ok(!fs.readFileSync(path.join(file.parentPath, file.name)).includes(FAKE_REPLICATE_TOKEN), `the token is not in ${file.name}`);
}

test('Veo dialect on Replicate: created, progressing, succeeded; custody at once (Segue\'s link outlives the expired output link); charged once; the token nowhere', async () => {
  const setup = await rig();
  const created = await setup.veo.post('/api/v1/veo/generate', { prompt: 'a lighthouse at dusk', model: 'veo3_fast' });
  assert.equal(created.code, 200, created.msg);
  const done = await setup.veo.waitUntilDone(created.data.taskId, 120_000);
  assert.equal(done.successFlag, 1, done.errorMessage);
  const wire = creates(setup.fake);
  assert.equal(wire.length, 1);
  assert.equal(wire[0]!.path, '/v1/models/google/veo-3.1-fast/predictions');
  assert.equal(wire[0]!.headers['cancel-after'], '15m');
  const task = (await setup.harness.segue.storage.tasks.findById(created.data.taskId))!;
  const predictionId = (task.providerHandle as { operation: string }).operation;
  assert.ok(task.upstreamOutput?.uri.startsWith(setup.fake.deliveryUrl), 'the output link was recorded');
  assert.equal(task.engineDetails?.['upstreamOperation'], predictionId);

  const outputs = await (await fetch(`${setup.fake.url}/_fake/expire-outputs`, { method: 'POST' })).json() as { expired: number };
  assert.equal(outputs.expired, 1);
  assert.equal((await fetch(task.upstreamOutput!.uri)).status, 404, 'Replicate\'s own link is gone');
  const copy = path.join(scratch, 'custody.mp4');
  await download(done.response.resultUrls[0], copy);
  const info = await media.probe(copy);
  assert.ok(Math.abs(info.durationSeconds - 8) < 0.2, 'Segue\'s copy still serves the 8 s video');
  assert.deepEqual(await ledgerOf(setup.harness, task.id), ['capture', 'hold']);
  await assertTokenNowhere(setup, task.id);
});

test('an upstream failure and an aborted prediction fail the task and release its credits', async () => {
  const clock = new ManualClock();
  const setup = await rig({ clock, entry: { timeoutSeconds: 20 } });
  const failed = await setup.veo.post('/api/v1/veo/generate', { prompt: '[fake:fail] a storm', model: 'veo3_fast' });
  const failedInfo = await setup.veo.waitUntilDone(failed.data.taskId, 60_000);
  assert.equal(failedInfo.successFlag, 3, 'failed during generation');
  assert.match(failedInfo.errorMessage, /could not generate/);
  assert.deepEqual(await ledgerOf(setup.harness, failed.data.taskId), ['hold', 'release']);

  const queued = await setup.veo.post('/api/v1/veo/generate', { prompt: '[fake:queued] a storm', model: 'veo3_fast' });
  const taskId = queued.data.taskId as string;
  const prediction = await waitFor('the prediction to be created', () => (setup.harness.segue.storage.tasks.findById(taskId).then((task) => (task?.providerHandle as { operation?: string } | null)?.operation)));
  assert.equal(creates(setup.fake).at(-1)!.headers['cancel-after'], '20s');
  clock.advance(21_000);
  const abortedInfo = await setup.veo.waitUntilDone(taskId, 60_000);
  assert.equal(setup.fake.predictions.get(prediction)!.status, 'aborted', 'Replicate aborted it at its deadline, before it started');
  assert.equal(abortedInfo.successFlag, 3);
  assert.match(abortedInfo.errorMessage, /Timeout/);
  const abortedTask = (await setup.harness.segue.storage.tasks.findById(taskId))!;
  assert.deepEqual([abortedTask.failure?.stage, abortedTask.failure?.reason], ['generation', 'timeout']);
  assert.match(abortedTask.failure!.message, /aborted.*not billed/);
  assert.deepEqual(await ledgerOf(setup.harness, taskId), ['hold', 'release'], 'not billed upstream, not charged here');
  await assertTokenNowhere(setup, taskId);
});

test('429 with Retry-After on create and on reads backs off and never fails the task', async () => {
  const setup = await rig();
  await fetch(`${setup.fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ throttleCreates: 1, throttleReads: 2 }) });
  const created = await setup.veo.post('/api/v1/veo/generate', { prompt: 'rain on a window', model: 'veo3' });
  const done = await setup.veo.waitUntilDone(created.data.taskId, 120_000);
  assert.equal(done.successFlag, 1, done.errorMessage);
  assert.equal(creates(setup.fake).length, 2, 'the throttled create was made again');
  assert.equal(creates(setup.fake)[1]!.path, '/v1/models/google/veo-3.1/predictions');
  const config = (await (await fetch(`${setup.fake.url}/_fake/config`, { method: 'POST', body: '{}' })).json()) as { throttleReads: number; throttleCreates: number };
  assert.deepEqual([config.throttleCreates, config.throttleReads], [0, 0], 'every 429 was met');
  assert.ok(setup.logs.some((line) => line.includes('poll failed; asking again later') && line.includes('429')), 'the throttled read was asked again later');
  assert.deepEqual(await ledgerOf(setup.harness, created.data.taskId), ['capture', 'hold']);
});

test('webhooks: the signed "completed" delivery makes the task finish long before its first poll; forged, stale and duplicated deliveries change nothing', async () => {
  const secret = `whsec_${Buffer.from('replicate-test-signing-secret-0123').toString('base64')}`;
  process.env['SEGUE_TEST_REPLICATE_WEBHOOK_SECRET'] = secret;
  const setup = await rig({
    fake: { webhookSecret: secret, webhookDeliveries: 2 },
    entry: { webhookSecretEnv: 'SEGUE_TEST_REPLICATE_WEBHOOK_SECRET', firstPollSeconds: 600, pollSeconds: 600 },
  });
  const created = await setup.veo.post('/api/v1/veo/generate', { prompt: 'a paper boat', model: 'veo3_fast' });
  const taskId = created.data.taskId as string;
  const done = await setup.veo.waitUntilDone(taskId, 60_000);
  assert.equal(done.successFlag, 1, done.errorMessage);
  const body = creates(setup.fake)[0]!.body as { webhook: string; webhook_events_filter: string[] };
  assert.equal(body.webhook, `${setup.baseUrl}/hooks/replicate?task=${taskId}`);
  assert.deepEqual(body.webhook_events_filter, ['completed']);
  const outcomes = () => setup.logs.filter((line) => line.includes('provider webhook received')).map((line) => (JSON.parse(line) as { outcome: string }).outcome);
  await waitFor('both deliveries of the webhook', () => outcomes().length === 2);
  assert.deepEqual(outcomes(), ['accepted', 'duplicate'], 'the redelivery (same webhook-id) is a no-op');
  const task = (await setup.harness.segue.storage.tasks.findById(taskId))!;
  const predictionId = (task.providerHandle as { operation: string }).operation;
  assert.ok(setup.fake.requests.some((request) => request.method === 'GET' && request.path === `/v1/predictions/${predictionId}`), 'the prediction was read again before the task was settled');

  assert.deepEqual(await ledgerOf(setup.harness, taskId), ['capture', 'hold']);

  // A task still running upstream: deliveries only wake its poll, and Replicate's answer to that read decides.
  const stuck = await setup.veo.post('/api/v1/veo/generate', { prompt: '[fake:stuck] a paper boat', model: 'veo3_fast' });
  const stuckId = stuck.data.taskId as string;
  const stuckPrediction = await waitFor('the stuck prediction', () => setup.harness.segue.storage.tasks.findById(stuckId).then((found) => (found?.providerHandle as { operation?: string } | null)?.operation));
  const reads = () => setup.fake.requests.filter((request) => request.method === 'GET' && request.path === `/v1/predictions/${stuckPrediction}`).length;
  const payload = JSON.stringify({ id: stuckPrediction, status: 'succeeded', output: `${setup.fake.deliveryUrl}/xezq/forged/tmp.mp4`, error: null });
  const post = (headers: Record<string, string>) => fetch(`${setup.baseUrl}/hooks/replicate?task=${stuckId}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
  const nowSeconds = Math.floor(Date.now() / 1000);
  const signed = (id: string, timestamp: number, key = secret) => ({ 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': standardWebhookSignature(key, id, timestamp, payload) });
  assert.equal((await post(signed('msg_forged', nowSeconds, `whsec_${Buffer.from('someone else').toString('base64')}`))).status, 401, 'forged');
  assert.equal((await post(signed('msg_stale', nowSeconds - 400))).status, 401, 'stale');
  assert.equal((await post({ 'webhook-id': 'msg_unsigned', 'webhook-timestamp': String(nowSeconds) })).status, 401, 'unsigned');
  assert.equal(reads(), 0, 'refused deliveries wake nothing');
  const genuine = signed('msg_genuine', nowSeconds);
  assert.deepEqual(await (await post(genuine)).json(), { status: 'accepted' });
  await waitFor('the woken poll to read the prediction', () => reads() >= 1);
  assert.deepEqual(await (await post(genuine)).json(), { status: 'duplicate' });
  assert.equal((await fetch(`${setup.baseUrl}/hooks/nobody`, { method: 'POST', body: payload })).status, 404);
  const after = (await setup.harness.segue.storage.tasks.findById(stuckId))!;
  assert.equal(after.state, 'running', 'Replicate still says processing: a delivery claiming success moves no money');
  assert.equal(after.upstreamOutput, null);
  assert.deepEqual(await ledgerOf(setup.harness, stuckId), ['hold']);
  await assertTokenNowhere(setup, taskId);
});

/** A real clip Segue did not make: the shared fixture (1364×768, 5.9 s, silent). */
const fixture = path.join(sharedDirectory, 'fixtures', 'monalisa.mp4');

test('universal: a foreign clip extends by bridge on Replicate: its last frame as image → source + 7 s, the seam unseen, charged once', { skip: sharedMissing }, async () => {
  const setup = await rig();
  const created = await fetch(`${setup.baseUrl}/v2/video/generations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${setup.harness.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'google/veo3-1-fast-extend-video', prompt: 'she smiles a little more', video_url: `data:video/mp4;base64,${fs.readFileSync(fixture).toString('base64')}` }),
  });
  const reply = (await created.json()) as { id: string };
  assert.equal(created.status, 200, JSON.stringify(reply));
  const done = await waitFor('the bridged extension', async () => {
    const polled = (await (await fetch(`${setup.baseUrl}/v2/video/generations?generation_id=${reply.id}`, { headers: { authorization: `Bearer ${setup.harness.key}` } })).json()) as any;
    return polled.status === 'completed' || polled.status === 'error' ? polled : undefined;
  }, { timeoutMs: 180_000, intervalMs: 250 }).catch(async (error: Error) => {
    // Say where it stuck: the task and the worker's last warnings.
    const stuck = await setup.harness.segue.storage.tasks.findById(reply.id);
    throw new Error(`${error.message}: task ${stuck?.state} ${JSON.stringify(stuck?.failure)}; ${setup.logs.filter((line) => /"level":(40|50)/.test(line)).slice(-3).join(' | ').slice(0, 2000)}`);
  });
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  assert.equal(done.meta.extension.method, 'bridge');
  assert.match(done.meta.extension.reason, /last frame with image-to-video/);

  const wire = creates(setup.fake);
  assert.equal(wire.length, 1, 'one prediction');
  assert.equal(wire[0]!.path, '/v1/models/google/veo-3.1-fast/predictions');
  const input = (wire[0]!.body as { input: Record<string, unknown> }).input;
  assert.match(String(input['image']), /^data:image\/png;base64,/, 'the source\'s last frame went as the first frame');
  assert.equal(input['aspect_ratio'], '16:9', 'a 1364×768 source is continued at 16:9');
  assert.ok(!('video' in input), 'google/veo-3.1 takes no video');

  const result = path.join(scratch, 'bridged.mp4');
  await download(done.video.url, result);
  const info = await media.probe(result);
  assert.deepEqual([info.video!.width, info.video!.height], [1280, 720]);
  const sourceSeconds = (await media.probe(fixture)).video!.durationSeconds;
  assert.ok(Math.abs(info.video!.durationSeconds - (sourceSeconds + 7)) < 0.1, `source + 7 s (${info.video!.durationSeconds})`);
  const seamFrame = Math.round(sourceSeconds * 24);
  const psnr = await framePsnr(result, seamFrame - 1, seamFrame);
  assert.ok(psnr > 30, `the first new frame continues the last source frame (PSNR ${psnr.toFixed(1)} dB)`);
  assert.deepEqual(await ledgerOf(setup.harness, reply.id), ['capture', 'hold']);
  await assertTokenNowhere(setup, reply.id);
});
