import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { type Logger, pino } from 'pino';
import type { FakeComfyUiServer } from '../src/fake-upstream/fake-comfyui-server.js';
import { startFakeComfyUi, writeComfyProvidersFile } from './helpers/fake-comfyui.js';
import { download, freePort, VeoClient } from './helpers/http-client.js';
import { framePsnr, media } from './helpers/media-checks.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

const scratch = temporaryDirectory('segue-comfyui-');
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});
/** Renders on a loaded two-core machine take their time. */
const renderTimeoutMs = 400_000;

/** A fake ComfyUI and a Segue routing veo3 and veo3_fast to one comfyui entry "gpu" with these workflows. */
async function rig(
  workflows: Parameters<typeof writeComfyProvidersFile>[1],
  entry: Record<string, unknown> = {},
  options: { token?: string; logger?: Logger } = {},
): Promise<{ fake: FakeComfyUiServer; harness: TestSegue; veo: VeoClient }> {
  const fake = await startFakeComfyUi(options.token ? { token: options.token } : {});
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const harness = await startTestSegue({
    environment: { SEGUE_PROVIDERS: writeComfyProvidersFile(fake.url, workflows, entry), SEGUE_PUBLIC_URL: baseUrl },
    ...(options.logger ? { logger: options.logger } : {}),
  });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  cleanups.push(() => harness.close(), () => fake.close());
  return { fake, harness, veo: new VeoClient(baseUrl, harness.key) };
}

async function ledgerOf(harness: TestSegue, taskId: string): Promise<string[]> {
  const key = (await harness.segue.keys.authenticate(harness.key))!;
  return (await harness.segue.keys.history(key.id, 1000)).filter((entry) => entry.taskId === taskId).map((entry) => entry.kind).sort();
}

function submittedGraphs(fake: FakeComfyUiServer): any[] {
  return fake.requests.filter((request) => request.method === 'POST' && request.path === '/prompt').map((request) => request.body);
}

/** A video made on the box, to be extended. */
async function generated(veo: VeoClient, prompt = 'waves roll onto a pebble beach'): Promise<{ taskId: string; seconds: number }> {
  const created = await veo.post('/api/v1/veo/generate', { prompt, model: 'veo3', seeds: 31337 });
  assert.equal(created.code, 200, created.msg);
  const done = await veo.waitUntilDone(created.data.taskId, renderTimeoutMs);
  assert.equal(done.successFlag, 1, done.errorMessage);
  const file = path.join(scratch, `${created.data.taskId}.mp4`);
  await download(done.response.resultUrls[0], file);
  return { taskId: created.data.taskId, seconds: (await media.probe(file)).video!.durationSeconds };
}

async function extended(veo: VeoClient, taskId: string): Promise<{ done: any; whole: string; segment: string }> {
  const created = await veo.post('/api/v1/veo/extend', { taskId, prompt: 'a gull lands on the rocks', model: 'quality' });
  assert.equal(created.code, 200, created.msg);
  const done = await veo.waitUntilDone(created.data.taskId, renderTimeoutMs);
  assert.equal(done.successFlag, 1, done.errorMessage);
  const whole = path.join(scratch, `${created.data.taskId}-whole.mp4`);
  const segment = path.join(scratch, `${created.data.taskId}-segment.mp4`);
  await download(done.response.fullResultUrls[0], whole);
  await download(done.response.resultUrls[0], segment);
  return { done, whole, segment };
}

test('generate on ComfyUI: the template filled (prompt, seed, size, 24 fps frames), progress while queued on the box, success with custody, charged once', async () => {
  const { fake, harness, veo } = await rig({ generate: 'generate' }, { pricePerSecond: 0.0125 });
  fake.setPaused(true);
  const created = await veo.post('/api/v1/veo/generate', { prompt: 'a "quoted" lighthouse {{seed}}', model: 'veo3', seeds: 42420, aspectRatio: '9:16' });
  assert.equal(created.code, 200, created.msg);
  const taskId = created.data.taskId as string;
  const queued = await waitFor('the task queued on the box', async () => {
    const task = await harness.segue.storage.tasks.findById(taskId);
    return task?.state === 'running' && task.progress === 5 ? task : undefined;
  }, { timeoutMs: 60_000, intervalMs: 100 });
  assert.equal((queued.providerHandle as { workflow: string }).workflow, 'generate');
  fake.setPaused(false);
  const done = await veo.waitUntilDone(taskId, renderTimeoutMs);
  assert.equal(done.successFlag, 1, done.errorMessage);

  const [graph] = submittedGraphs(fake);
  assert.match(graph.client_id, /^segue-gpu-/);
  assert.equal(graph.prompt['4'].inputs.text, 'a "quoted" lighthouse {{seed}}', 'the prompt went in as given, not filled again');
  assert.equal(graph.prompt['7'].inputs.seed, 42420);
  assert.deepEqual([graph.prompt['6'].inputs.width, graph.prompt['6'].inputs.height, graph.prompt['6'].inputs.length], [720, 1280, 193]);

  // Custody: Segue's copy outlives the box's.
  fs.rmSync(fake.outputDirectory, { recursive: true, force: true });
  const result = path.join(scratch, 'generated.mp4');
  await download(done.response.resultUrls[0], result);
  const info = await media.probe(result);
  assert.deepEqual([info.video!.width, info.video!.height], [720, 1280]);
  assert.ok(Math.abs(info.video!.durationSeconds - 193 / 24) < 0.05, `${info.video!.durationSeconds} s`);
  assert.deepEqual(await ledgerOf(harness, taskId), ['capture', 'hold']);
  const task = (await harness.segue.storage.tasks.findById(taskId))!;
  assert.equal(task.provider, 'gpu');
  assert.equal(task.engineDetails?.['upstreamOperation'], (task.providerHandle as { operation: string }).operation, 'the prompt_id is kept with the result');
  assert.equal(task.engineDetails?.['upstreamCostUsd'], 0.1, 'the configured price per second × 8 s');
});

test('node_errors refuse the task with the nodes\' own messages and an execution error fails it; credits are released both times', async () => {
  const { harness, veo } = await rig({ generate: 'invalid', image: 'wan22-i2v-continue' });
  const refused = await veo.post('/api/v1/veo/generate', { prompt: 'a field of poppies', model: 'veo3' });
  const done = await veo.waitUntilDone(refused.data.taskId, 120_000);
  assert.equal(done.successFlag, 2, 'failed before the box accepted it');
  assert.match(done.errorMessage, /ComfyUI refused the workflow: Prompt outputs failed validation — node 7 \(KSampler\): Failed to convert an input value to a INT value: steps, many/);
  assert.deepEqual(await ledgerOf(harness, refused.data.taskId), ['hold', 'release']);

  const { veo: working, harness: other } = await rig({ generate: 'generate' });
  const failing = await working.post('/api/v1/veo/generate', { prompt: 'a storm [fake:error]', model: 'veo3' });
  const failed = await working.waitUntilDone(failing.data.taskId, 120_000);
  assert.equal(failed.successFlag, 3, 'failed while generating');
  assert.match(failed.errorMessage, /ComfyUI: node 4 \(CLIPTextEncode\): torch\.OutOfMemoryError: Allocation on device/);
  assert.deepEqual(await ledgerOf(other, failing.data.taskId), ['hold', 'release']);
});

test('an extend workflow that answers the whole video (LTX-Video example): the result is source + new seconds, the segment the new seconds', async () => {
  const { fake, harness, veo } = await rig({ generate: 'generate', extend: 'ltxv-continue' });
  const source = await generated(veo);
  const { done, whole, segment } = await extended(veo, source.taskId);
  assert.equal(done.extendMethod, 'native');
  const graphs = submittedGraphs(fake);
  assert.match(graphs[1].prompt['6'].inputs.video, /^segue-.*-source\.mp4$/, 'the source went up through /upload/image');
  assert.equal(graphs[1].prompt['12'].inputs.num_new_frames, 169);
  const wholeSeconds = (await media.probe(whole)).video!.durationSeconds;
  assert.ok(Math.abs(wholeSeconds - (source.seconds + 169 / 24)) < 0.1, `whole ${wholeSeconds} s, source ${source.seconds} s`);
  assert.ok(Math.abs((await media.probe(segment)).video!.durationSeconds - 169 / 24) < 0.15);
  const task = (await harness.segue.storage.tasks.findById(done.taskId))!;
  assert.equal(task.engineDetails?.['joinedBySegue'], undefined, 'a whole video is taken as it is');
});

test('an extend workflow that answers only the new seconds: Segue joins them onto the source with the bridge join (duration source + 7 s, seamless)', async () => {
  const { harness, veo } = await rig({ generate: 'generate', extend: 'extendNewSeconds' });
  const source = await generated(veo);
  const { done, whole, segment } = await extended(veo, source.taskId);
  assert.equal(done.extendMethod, 'native');
  const wholeSeconds = (await media.probe(whole)).video!.durationSeconds;
  assert.ok(Math.abs(wholeSeconds - (source.seconds + 7)) < 0.1, `whole ${wholeSeconds} s, source ${source.seconds} s`);
  assert.ok(Math.abs((await media.probe(segment)).video!.durationSeconds - 7) < 0.15);
  const seamFrame = Math.round(source.seconds * 24);
  const psnr = await framePsnr(whole, seamFrame - 1, seamFrame);
  assert.ok(psnr > 30, `the first new frame continues the last source frame (PSNR ${psnr.toFixed(1)} dB)`);
  const task = (await harness.segue.storage.tasks.findById(done.taskId))!;
  assert.equal(task.engineDetails?.['joinedBySegue'], true);
  assert.equal(typeof task.engineDetails?.['seamPsnr'], 'number');
});

test('with no extend workflow, the image workflow (Wan 2.2 example) continues a video by bridge from its last frame', async () => {
  const { fake, harness, veo } = await rig({ generate: 'generate', image: 'wan22-i2v-continue' });
  const source = await generated(veo);
  const { done, whole } = await extended(veo, source.taskId);
  assert.equal(done.extendMethod, 'bridge');
  assert.match(done.extendReason, /image-to-video/);
  const graphs = submittedGraphs(fake);
  assert.match(graphs[1].prompt['9'].inputs.image, /^segue-.*-start\.png$/, 'the last frame went up through /upload/image');
  assert.equal(graphs[1].prompt['10'].inputs.length, 169);
  const wholeSeconds = (await media.probe(whole)).video!.durationSeconds;
  assert.ok(Math.abs(wholeSeconds - (source.seconds + 7)) < 0.1, `whole ${wholeSeconds} s, source ${source.seconds} s`);
  const task = (await harness.segue.storage.tasks.findById(done.taskId))!;
  assert.equal(task.extension?.method, 'bridge');
});

test('a busy box (429 with Retry-After) delays the task and never fails it; the token goes only in the Authorization header, never into a log line or a task record', async () => {
  const token = 'comfy-proxy-token-5f1e9a7c2b';
  process.env['SEGUE_TEST_COMFY_TOKEN'] = token;
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const { fake, harness, veo } = await rig({ generate: 'generate' }, { tokenEnv: 'SEGUE_TEST_COMFY_TOKEN' }, { token, logger });
  fake.failNextSubmits(429, 2);
  const created = await veo.post('/api/v1/veo/generate', { prompt: 'rain on a tin roof', model: 'veo3' });
  const done = await veo.waitUntilDone(created.data.taskId, renderTimeoutMs);
  assert.equal(done.successFlag, 1, done.errorMessage);
  const submits = fake.requests.filter((request) => request.method === 'POST' && request.path === '/prompt');
  assert.equal(submits.length, 3, 'two busy answers, then accepted');
  assert.ok(fake.requests.every((request) => request.authorization === 'valid'), 'every call carried the token');
  const task = (await harness.segue.storage.tasks.findById(created.data.taskId))!;
  assert.ok(!JSON.stringify(task).includes(token), 'the token is not in the task record');
  assert.ok(lines.length > 0 && !lines.join('\n').includes(token), 'the token is not in any log line');
});
