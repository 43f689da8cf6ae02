import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startCallbackReceiver } from './helpers/callback-receiver.js';
import { download, freePort, VeoClient } from './helpers/http-client.js';
import { frameHashes, framePsnr, largestStep, media, monoSamples } from './helpers/media-checks.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

let harness: TestSegue;
let client: VeoClient;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
const downloads = temporaryDirectory('segue-e2e-');

before(async () => {
  const port = await freePort();
  harness = await startTestSegue({ environment: { PORT: String(port), SEGUE_ALLOW_PRIVATE_NETWORKS: 'true' } });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  client = new VeoClient(`http://127.0.0.1:${port}`, harness.key);
  receiver = await startCallbackReceiver();
});

after(async () => {
  await receiver.close();
  await harness.close();
  fs.rmSync(downloads, { recursive: true, force: true });
});

test('generate → extend → extend over real HTTP gives one seamless 22 s video and a callback per task', async () => {
  const created = await client.post('/api/v1/veo/generate', {
    prompt: 'A paper boat drifts down a rainy street',
    aspectRatio: '16:9',
    seeds: 24680,
    callBackUrl: receiver.url,
  });
  assert.equal(created.code, 200, created.msg);
  const generated = await client.waitUntilDone(created.data.taskId);
  assert.equal(generated.successFlag, 1, generated.errorMessage);
  // The kie quickstart's reading: a top-level JSON-array string of the same links.
  assert.deepEqual(JSON.parse(generated.resultUrls), generated.response.resultUrls);

  const firstExtension = await client.post('/api/v1/veo/extend', {
    taskId: created.data.taskId,
    prompt: 'The boat reaches a puddle and spins',
    seeds: 13579,
    callBackUrl: receiver.url,
  });
  assert.equal(firstExtension.code, 200, firstExtension.msg);
  assert.equal((await client.waitUntilDone(firstExtension.data.taskId)).successFlag, 1);

  const secondExtension = await client.post('/api/v1/veo/extend', {
    taskId: firstExtension.data.taskId,
    prompt: 'The rain stops',
    callBackUrl: receiver.url,
  });
  assert.equal(secondExtension.code, 200, secondExtension.msg);
  const final = await client.waitUntilDone(secondExtension.data.taskId);
  assert.equal(final.successFlag, 1, final.errorMessage);
  assert.match(final.completeTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

  // The whole video: about 8 + 7 + 7 s, 24 fps, 1280×720, with sound.
  const whole = path.join(downloads, 'whole.mp4');
  await download(final.response.fullResultUrls[0], whole);
  const info = await media.probe(whole);
  assert.ok(Math.abs(info.durationSeconds - 22) < 0.25, `duration ${info.durationSeconds}`);
  assert.equal(info.video?.width, 1280);
  assert.equal(info.video?.height, 720);
  assert.equal(info.video?.fps, 24);
  assert.equal(info.video?.codec, 'h264');
  assert.equal(info.audio?.codec, 'aac');

  // Stream copy: every earlier frame is bit-identical to the video it extended.
  const original = path.join(downloads, 'original.mp4');
  await download(generated.response.resultUrls[0], original);
  const originalFrames = await frameHashes(original);
  const wholeFrames = await frameHashes(whole);
  assert.equal(originalFrames.length, 192);
  assert.equal(wholeFrames.length, 22 * 24);
  assert.deepEqual(wholeFrames.slice(0, 192), originalFrames);
  await media.ffmpeg(['-xerror', '-i', whole, '-f', 'null', '-']); // decodes end to end without an error
  const stored = await harness.segue.storage.tasks.findById(secondExtension.data.taskId);
  assert.equal(stored?.engineDetails?.['stitch'], 'stream_copy');

  // The sound is joined by stream copy as well: the original's sound is unchanged, each seam
  // without a step larger than the original's own, and sound and picture stay aligned.
  const originalSound = await monoSamples(original);
  const wholeSound = await monoSamples(whole);
  let drift = 0;
  for (let i = 0; i < 8 * 48000 - 4096; i++) drift = Math.max(drift, Math.abs(originalSound[i]! - wholeSound[i]!));
  assert.equal(drift, 0, 'the original sound is copied, bit for bit, up to the splice');
  for (const seamSecond of [8, 15]) {
    const at = seamSecond * 48000;
    assert.ok(largestStep(wholeSound, at - 2400, at + 2400) <= largestStep(originalSound, 1, originalSound.length), `no step at ${seamSecond} s`);
  }

  // The first frame after each seam continues the frame before it.
  for (const seamFrame of [8 * 24, 15 * 24]) {
    const psnr = await framePsnr(whole, seamFrame - 1, seamFrame);
    assert.ok(psnr >= 30, `PSNR ${psnr.toFixed(1)} dB at the seam before frame ${seamFrame}`);
  }

  // resultUrls[0] is the new segment alone.
  const segment = path.join(downloads, 'segment.mp4');
  await download(final.response.resultUrls[0], segment);
  const segmentInfo = await media.probe(segment);
  assert.ok(Math.abs(segmentInfo.durationSeconds - 7) < 0.15, `segment duration ${segmentInfo.durationSeconds}`);

  // One terminal callback per task, with the documented bodies.
  await waitFor('three callbacks', () => receiver.received.length >= 3);
  const bodies = receiver.received.map((callback) => callback.body);
  assert.deepEqual(
    bodies.map((body) => [body.code, body.msg, body.data.taskId]),
    [
      [200, 'Veo3.1 video generated successfully.', created.data.taskId],
      [200, 'Veo3.1 video extension successful.', firstExtension.data.taskId],
      [200, 'Veo3.1 video extension successful.', secondExtension.data.taskId],
    ],
  );
  for (const body of bodies) {
    assert.ok(Array.isArray(body.data.info.resultUrls) && body.data.info.resultUrls.length === 1);
    assert.equal(body.data.info.resolution, '720p');
    assert.equal(body.data.fallbackFlag, false);
  }
  assert.deepEqual(bodies[2].data.info.fullResultUrls, [final.response.fullResultUrls[0]]);
  assert.equal(bodies[0].data.promptJson.prompt, 'A paper boat drifts down a rainy street');
});

test('result links are signed: posters are JPEG, ranges work, tampered or expired links are refused', async () => {
  const created = await client.post('/api/v1/veo/generate', { prompt: 'A kite', seeds: 11111 });
  const done = await client.waitUntilDone(created.data.taskId);
  const videoUrl: string = done.response.resultUrls[0];

  const poster = await fetch(done.response.posterUrl);
  assert.equal(poster.headers.get('content-type'), 'image/jpeg');
  const posterBytes = Buffer.from(await poster.arrayBuffer());
  assert.equal(posterBytes.subarray(0, 2).toString('hex'), 'ffd8');

  const partial = await fetch(videoUrl, { headers: { range: 'bytes=100-199' } });
  assert.equal(partial.status, 206);
  assert.equal((await partial.arrayBuffer()).byteLength, 100);
  assert.match(partial.headers.get('content-range') ?? '', /^bytes 100-199\/\d+$/);

  const tampered = videoUrl.replace(/signature=./, (match) => (match.endsWith('A') ? match.slice(0, -1) + 'B' : match.slice(0, -1) + 'A'));
  assert.equal((await fetch(tampered)).status, 403);
  const expired = videoUrl.replace(/expires=\d+/, 'expires=1000');
  assert.equal((await fetch(expired)).status, 403);
  const escaped = videoUrl.replace(/\/files\/tasks\/[0-9a-f]+\/video\.mp4/, '/files/../segue.db');
  assert.notEqual((await fetch(escaped)).status, 200);
});

test('an unreadable image fails the task cleanly with the dialect code 400', async () => {
  const notAnImage = `data:image/png;base64,${Buffer.from('this is not a picture').toString('base64')}`;
  const created = await client.post('/api/v1/veo/generate', { prompt: 'animate this', imageUrls: [notAnImage] });
  assert.equal(created.code, 200);
  const done = await client.waitUntilDone(created.data.taskId);
  assert.equal(done.successFlag, 3);
  assert.equal(done.errorCode, 400);
  assert.match(done.errorMessage, /Failed to fetch the image/);
});
