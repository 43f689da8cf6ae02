import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import type { FakeVertexServer } from '../src/fake-upstream/fake-vertex-server.js';
import { startFakeVertex, VERTEX_CREDENTIALS_ENV, vertexCreates, writeServiceAccountFile, writeVertexProvidersFile } from './helpers/fake-vertex.js';
import { download, freePort, VeoClient } from './helpers/http-client.js';
import { media } from './helpers/media-checks.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

const scratch = temporaryDirectory('segue-vertex-');
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

interface Rig {
  readonly fake: FakeVertexServer;
  readonly harness: TestSegue;
  readonly baseUrl: string;
  readonly veo: VeoClient;
  readonly account: Record<string, string>;
  /** Every log line Segue wrote (info and up). */
  readonly logs: string[];
}

/** A fake Vertex, a service account it trusts, and a Segue routing veo3 / veo3_fast to it. */
async function rig(vertex: Record<string, unknown> = {}, routes?: Record<string, string[]>): Promise<Rig> {
  const fake = await startFakeVertex();
  const account = fake.createServiceAccount();
  process.env[VERTEX_CREDENTIALS_ENV] = writeServiceAccountFile(account);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const logs: string[] = [];
  const harness = await startTestSegue({
    environment: { SEGUE_PROVIDERS: writeVertexProvidersFile(fake, vertex, routes), SEGUE_ALLOW_PRIVATE_NETWORKS: 'true', SEGUE_PUBLIC_URL: baseUrl },
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }),
  });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  cleanups.push(() => harness.close(), () => fake.close());
  return { fake, harness, baseUrl, veo: new VeoClient(baseUrl, harness.key), account, logs };
}

async function ledgerOf(harness: TestSegue, taskId: string): Promise<string[]> {
  const key = (await harness.segue.keys.authenticate(harness.key))!;
  return (await harness.segue.keys.history(key.id, 1000)).filter((entry) => entry.taskId === taskId).map(({ kind }) => kind).sort();
}

async function durationOf(url: string, name: string): Promise<number> {
  const file = path.join(scratch, name);
  await download(url, file);
  return (await media.probe(file)).durationSeconds;
}

/** Nothing secret in what Segue logged or stored: no private key, no access token. */
async function assertNoSecrets(rig: Rig, taskIds: readonly string[]): Promise<void> {
  const keyBody = rig.account['private_key']!.split('\n').slice(1, -2).join('');
  assert.ok(rig.logs.length > 0, 'Segue logged its work');
  const stored = JSON.stringify(await Promise.all(taskIds.map((id) => rig.harness.segue.storage.tasks.findById(id))));
  for (const [where, text] of [['logs', rig.logs.join('\n')], ['task records', stored]] as const) {
    assert.doesNotMatch(text, /PRIVATE KEY/, `no private key in ${where}`);
    assert.ok(!text.includes(keyBody.slice(0, 40)), `no piece of the private key in ${where}`);
    assert.doesNotMatch(text, /ya29\./, `no access token in ${where}`);
  }
}

test('Vertex, inline results: a verified token, Bearer on every call, POST polls, pinned facts shown; native extension sends the bytes', async () => {
  const setup = await rig();
  const { fake, veo, account } = setup;
  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'a lighthouse in fog', model: 'veo3_fast', aspect_ratio: '16:9' });
  assert.equal(generated.code, 200, generated.msg);
  const source = await veo.waitUntilDone(generated.data.taskId, 120_000);
  assert.equal(source.successFlag, 1, source.errorMessage);
  assert.deepEqual(source.pinnedTo, { entry: 'vertex', credential: account['client_email'], region: 'us-central1', upstreamModel: 'veo-3.1-fast-generate-001' });
  assert.ok(Math.abs((await durationOf(source.response.resultUrls[0], 'inline.mp4')) - 8) < 0.1);

  assert.ok(fake.exchanges.some((exchange) => exchange.granted && exchange.clientEmail === account['client_email']), 'a JWT the fake verified');
  assert.ok(fake.requests.every((request) => request.auth === 'valid'), 'a valid Bearer token on every call');
  const polls = fake.requests.filter((request) => request.path.endsWith(':fetchPredictOperation'));
  assert.ok(polls.length >= 2 && polls.every((request) => request.method === 'POST'), 'polled by POST');
  const [create] = vertexCreates(fake);
  assert.equal(create!.path, '/v1/projects/segue-test-project/locations/us-central1/publishers/google/models/veo-3.1-fast-generate-001:predictLongRunning');
  const parameters = (create!.body as { parameters: Record<string, unknown> }).parameters;
  assert.equal(parameters['generateAudio'], true);
  assert.equal(parameters['storageUri'], undefined, 'no storageUri: inline bytes');

  const extended = await veo.post('/api/v1/veo/extend', { taskId: generated.data.taskId, prompt: 'the beam sweeps the sea', model: 'fast' });
  assert.equal(extended.code, 200, extended.msg);
  const done = await veo.waitUntilDone(extended.data.taskId, 120_000);
  assert.equal(done.successFlag, 1, done.errorMessage);
  assert.equal(done.extendMethod, 'native');
  assert.equal(done.pinnedTo.credential, account['client_email']);
  const extendBody = vertexCreates(fake)[1]!.body as { instances: Array<Record<string, any>>; parameters: Record<string, unknown> };
  assert.equal(extendBody.instances[0]!['video'].mimeType, 'video/mp4');
  assert.ok(extendBody.instances[0]!['video'].bytesBase64Encoded.length > 1000, 'the source went as bytes');
  assert.equal(extendBody.parameters['durationSeconds'], 7);
  assert.ok(Math.abs((await durationOf(done.response.fullResultUrls[0], 'inline-extended.mp4')) - 15) < 0.1, 'source + 7 s');
  assert.deepEqual(await ledgerOf(setup.harness, extended.data.taskId), ['capture', 'hold']);
  await assertNoSecrets(setup, [generated.data.taskId, extended.data.taskId]);
});

test('Vertex with storageUri: results are GCS objects read through the JSON API with the same token; native extension sends the gcsUri', async () => {
  const { fake, veo } = await rig({ storageUri: 'gs://segue-results/veo' });
  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'dunes at noon', model: 'veo3' });
  const source = await veo.waitUntilDone(generated.data.taskId, 120_000);
  assert.equal(source.successFlag, 1, source.errorMessage);
  assert.equal(source.pinnedTo.upstreamModel, 'veo-3.1-generate-001');
  const objectReads = fake.requests.filter((request) => request.path.startsWith('/storage/v1/b/segue-results/o/'));
  assert.equal(objectReads.length, 1, 'the result was read from the bucket');
  assert.match(objectReads[0]!.path, /^\/storage\/v1\/b\/segue-results\/o\/veo%2F[^/]+%2Fsample_0\.mp4\?alt=media$/);
  assert.equal((vertexCreates(fake)[0]!.body as { parameters: Record<string, unknown> }).parameters['storageUri'], 'gs://segue-results/veo');

  const extended = await veo.post('/api/v1/veo/extend', { taskId: generated.data.taskId, prompt: 'wind lifts the sand', model: 'quality' });
  assert.equal(extended.code, 200, extended.msg);
  const done = await veo.waitUntilDone(extended.data.taskId, 120_000);
  assert.equal(done.successFlag, 1, done.errorMessage);
  assert.equal(done.extendMethod, 'native');
  const video = (vertexCreates(fake)[1]!.body as { instances: Array<Record<string, any>> }).instances[0]!['video'];
  assert.match(video.gcsUri, /^gs:\/\/segue-results\/veo\/[^/]+\/sample_0\.mp4$/);
  assert.equal(video.bytesBase64Encoded, undefined);
  assert.ok(Math.abs((await durationOf(done.response.fullResultUrls[0], 'gcs-extended.mp4')) - 15) < 0.1);
});

test('a foreign clip extends on Vertex by bridge: its last frame goes to image-to-video, never as a native extension', async () => {
  const { fake, harness, baseUrl } = await rig();
  const clip = path.join(scratch, 'foreign.mp4');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=590x878:r=30:d=3', '-f', 'lavfi', '-i', 'sine=f=440:d=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', clip]);
  const created = await fetch(`${baseUrl}/v2/video/generations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${harness.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'google/veo3-1-fast-extend-video', prompt: 'the pattern keeps turning', video_url: `data:video/mp4;base64,${fs.readFileSync(clip).toString('base64')}` }),
  });
  const reply = (await created.json()) as { id: string };
  assert.equal(created.status, 200, JSON.stringify(reply));
  const done = await waitFor('the bridged extension', async () => {
    const polled = (await (await fetch(`${baseUrl}/v2/video/generations?generation_id=${reply.id}`, { headers: { authorization: `Bearer ${harness.key}` } })).json()) as any;
    return polled.status === 'completed' || polled.status === 'error' ? polled : undefined;
  }, { timeoutMs: 180_000, intervalMs: 250 });
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  assert.equal(done.meta.extension.method, 'bridge');
  assert.equal(done.meta.pinned_to.entry, 'vertex');
  const body = vertexCreates(fake)[0]!.body as { instances: Array<Record<string, any>>; parameters: Record<string, unknown> };
  assert.equal(body.instances[0]!['video'], undefined, 'no native extension of a video Vertex did not make');
  assert.equal(body.instances[0]!['image'].mimeType, 'image/png', 'the last frame went as the first frame');
  assert.equal(body.parameters['aspectRatio'], '9:16');
  const result = path.join(scratch, 'bridged.mp4');
  await download(done.video.url, result);
  const info = await media.probe(result);
  assert.deepEqual([info.video!.width, info.video!.height], [720, 1280]);
  assert.ok(Math.abs(info.durationSeconds - 10) < 0.15, `source + 7 s (${info.durationSeconds})`);
});

test('RAI filtering fails the task as content policy and releases its credits', async () => {
  const { veo, harness } = await rig();
  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'something unsafe [fake:rai]', model: 'veo3_fast' });
  const done = await veo.waitUntilDone(generated.data.taskId, 60_000);
  assert.equal(done.successFlag, 3);
  const task = (await harness.segue.storage.tasks.findById(generated.data.taskId))!;
  assert.equal(task.failure?.reason, 'content_policy');
  assert.match(task.failure!.message, /Vertex filtered the video: Your current safety filter/);
  assert.deepEqual(await ledgerOf(harness, generated.data.taskId), ['hold', 'release']);
});

test('429 on create and on polls backs off and the task still succeeds', async () => {
  const { fake, veo } = await rig();
  await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ failCreates: { status: 429, remaining: 1 }, throttlePolls: 2 }) });
  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'rain on a window', model: 'veo3_fast' });
  const done = await veo.waitUntilDone(generated.data.taskId, 120_000);
  assert.equal(done.successFlag, 1, done.errorMessage);
  assert.equal(vertexCreates(fake).length, 2, 'the refused create was made again');
});

test('a model mapped to a retired id is refused before payment; an unlisted id Vertex answers 404 for fails before generation, released', async () => {
  const setup = await rig({ models: { veo3: 'veo-3.1-generate-preview', veo3_fast: 'veo-3.1-fast-generate-preview' }, retiredModelIds: ['veo-3.1-generate-preview'] });
  const { veo, harness, fake } = setup;
  const key = (await harness.segue.keys.authenticate(harness.key))!;
  const before = await harness.segue.keys.balance(key.id);
  const refused = await veo.post('/api/v1/veo/generate', { prompt: 'a retired model', model: 'veo3' });
  assert.notEqual(refused.code, 200);
  assert.match(refused.msg, /veo-3\.1-generate-preview on vertex, a model id the upstream has retired; nothing was charged/);
  assert.equal(await harness.segue.keys.balance(key.id), before, 'nothing held');
  assert.equal(vertexCreates(fake).length, 0, 'nothing sent upstream');

  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'a model Vertex let go', model: 'veo3_fast' });
  assert.equal(generated.code, 200, generated.msg);
  const done = await veo.waitUntilDone(generated.data.taskId, 60_000);
  assert.equal(done.successFlag, 2, 'failed before the upstream accepted it');
  const task = (await harness.segue.storage.tasks.findById(generated.data.taskId))!;
  assert.match(task.failure!.message, /404 NOT_FOUND: Publisher Model .*veo-3\.1-fast-generate-preview.* was not found.*retiredModelIds/);
  assert.deepEqual(await ledgerOf(harness, generated.data.taskId), ['hold', 'release']);
  await assertNoSecrets(setup, [generated.data.taskId]);
});
