import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import type { FakeGeminiServer } from '../src/fake-upstream/fake-gemini-server.js';
import { creates, startFakeGemini, writeProvidersFile } from './helpers/fake-gemini.js';
import { download, freePort, VeoClient } from './helpers/http-client.js';
import { framePsnr, largestStep, media, monoSamples } from './helpers/media-checks.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

const scratch = temporaryDirectory('segue-bridge-');
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** A fake Gemini and a Segue routing veo3_fast to it (then local); veo3 stays local-only. */
async function rig(google: Record<string, unknown> = {}, routes?: Record<string, string[]>): Promise<{ fake: FakeGeminiServer; harness: TestSegue; baseUrl: string }> {
  const fake = await startFakeGemini();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const harness = await startTestSegue({
    environment: {
      SEGUE_PROVIDERS: writeProvidersFile(fake.url, google, routes ?? { veo3_fast: ['google', 'local'], 'google/veo3-1-fast-extend-video': ['google', 'local'], '*': ['local'] }),
      SEGUE_ALLOW_PRIVATE_NETWORKS: 'true',
      SEGUE_PUBLIC_URL: baseUrl,
    },
  });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  cleanups.push(() => harness.close(), () => fake.close());
  return { fake, harness, baseUrl };
}

/** A portrait clip with the raccoon example's shape (1180×1756, halved), moving picture and a tone. */
async function portraitClip(): Promise<string> {
  const file = path.join(scratch, 'portrait.mp4');
  if (!fs.existsSync(file)) {
    await media.ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc2=s=590x878:r=30:d=3', '-f', 'lavfi', '-i', 'sine=f=440:d=3',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', file,
    ]);
  }
  return file;
}

async function ledgerOf(harness: TestSegue, taskId: string): Promise<Array<{ kind: string; amount: number }>> {
  const key = (await harness.segue.keys.authenticate(harness.key))!;
  return (await harness.segue.keys.history(key.id, 1000)).filter((entry) => entry.taskId === taskId).map(({ kind, amount }) => ({ kind, amount }));
}

/** Checks the seam of a bridged result: continuous picture and sound where the source ends. */
async function assertSeamless(resultPath: string, sourceSeconds: number): Promise<void> {
  const seamFrame = Math.round(sourceSeconds * 24);
  const psnr = await framePsnr(resultPath, seamFrame - 1, seamFrame);
  assert.ok(psnr > 30, `the first new frame continues the last source frame (PSNR ${psnr.toFixed(1)} dB)`);
  const samples = await monoSamples(resultPath);
  const seamSample = Math.round(sourceSeconds * 48_000);
  const step = largestStep(samples, seamSample - 480, seamSample + 480);
  assert.ok(step < 0.2, `no click where the sound crosses the seam (largest step ${step.toFixed(3)})`);
}

test('universal: a foreign portrait clip extends by bridge on Gemini: last frame → image-to-video, source + 7 s, seamless, charged once', async () => {
  const { fake, harness, baseUrl } = await rig();
  const clip = await portraitClip();
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

  const wire = creates(fake);
  assert.equal(wire.length, 1, 'one create upstream');
  const body = wire[0]!.body as { instances: Array<Record<string, any>>; parameters: Record<string, unknown> };
  assert.equal(body.instances[0]!['video'], undefined, 'no native extension of a video Gemini did not make');
  assert.equal(body.instances[0]!['image'].mimeType, 'image/png', 'the source\'s last frame went as the first frame');
  assert.equal(body.parameters['aspectRatio'], '9:16', 'a portrait source is continued in portrait');

  assert.equal(done.meta.extension.method, 'bridge', 'the fetch says how the video was continued');
  assert.match(done.meta.extension.reason, /last frame with image-to-video/);
  const task = (await harness.segue.storage.tasks.findById(reply.id))!;
  assert.equal(task.provider, 'google');

  const result = path.join(scratch, 'bridged.mp4');
  await download(done.video.url, result);
  const info = await media.probe(result);
  assert.deepEqual([info.video!.width, info.video!.height], [720, 1280], 'the model\'s nearest aspect ratio, undistorted');
  const sourceSeconds = (await media.probe(clip)).video!.durationSeconds;
  assert.ok(Math.abs(info.video!.durationSeconds - (sourceSeconds + 7)) < 0.1, `source + 7 s (${info.video!.durationSeconds})`);
  await assertSeamless(result, sourceSeconds);

  const ledger = await ledgerOf(harness, reply.id);
  assert.deepEqual(ledger.map((entry) => entry.kind).sort(), ['capture', 'hold'], 'held once, captured once');
  assert.equal(-ledger.find((entry) => entry.kind === 'hold')!.amount, 8 * 8, 'priced as the 8 s image-to-video call (veo3_fast: 8 credits/s)');
});

test('Veo: a video made on the local engine extends by bridge on the route\'s Gemini entry; the segment is the 7 new seconds', async () => {
  const { fake, harness, baseUrl } = await rig();
  const veo = new VeoClient(baseUrl, harness.key);
  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'a quiet harbour at dawn', model: 'veo3', seeds: 24680 });
  const source = await veo.waitUntilDone(generated.data.taskId, 120_000);
  assert.equal(source.successFlag, 1);
  assert.equal((await harness.segue.storage.tasks.findById(generated.data.taskId))!.provider, 'local');

  const extended = await veo.post('/api/v1/veo/extend', { taskId: generated.data.taskId, prompt: 'boats drift out', model: 'fast' });
  assert.equal(extended.code, 200, extended.msg);
  const done = await veo.waitUntilDone(extended.data.taskId, 180_000);
  assert.equal(done.successFlag, 1, done.errorMessage);
  assert.equal(done.fallbackFlag, false, 'the route\'s first entry ran its best method for a foreign video');
  assert.equal(creates(fake).length, 1);
  assert.equal(done.extendMethod, 'bridge', 'record-info says how the video was continued');
  assert.match(done.extendReason, /image-to-video/);

  const whole = path.join(scratch, 'veo-whole.mp4');
  const segment = path.join(scratch, 'veo-segment.mp4');
  await download(done.response.fullResultUrls[0], whole);
  await download(done.response.resultUrls[0], segment);
  assert.ok(Math.abs((await media.probe(whole)).durationSeconds - 15) < 0.1);
  assert.ok(Math.abs((await media.probe(segment)).durationSeconds - 7) < 0.15);
  await assertSeamless(whole, 8);
});

test('a route whose entries cannot extend a foreign video refuses it at submit, saying why, and holds nothing', async () => {
  const { fake, harness, baseUrl } = await rig({ extendMethods: ['native'] }, { veo3_fast: ['google'], 'google/veo3-1-fast-extend-video': ['google'], '*': ['local'] });
  const key = (await harness.segue.keys.authenticate(harness.key))!;
  const before = await harness.segue.keys.balance(key.id);
  const clip = await portraitClip();
  const refused = await fetch(`${baseUrl}/v2/video/generations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${harness.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'google/veo3-1-fast-extend-video', prompt: 'go on', video_url: `data:video/mp4;base64,${fs.readFileSync(clip).toString('base64')}` }),
  });
  assert.equal(refused.status, 400);
  assert.match(((await refused.json()) as { message: string }).message, /no entry on its route extends a video from another provider/);
  assert.equal(await harness.segue.keys.balance(key.id), before);
  assert.equal(creates(fake).length, 0);
});
