import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { checkWatermark } from '../src/domain/watermark.js';
import { ValidationError } from '../src/domain/errors.js';
import { seededRandom } from '../src/providers/local/seeded-random.js';
import { watermarkFilter } from '../src/media/watermark-filter.js';
import { download, freePort } from './helpers/http-client.js';
import { frameHashes, framePsnr, largestStep, media, monoSamples } from './helpers/media-checks.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

const scratch = temporaryDirectory('segue-engine-');
let harness: TestSegue;
let base: string;

before(async () => {
  const port = await freePort();
  harness = await startTestSegue({ environment: { PORT: String(port), SEGUE_ALLOW_PRIVATE_NETWORKS: 'true' } });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  base = `http://127.0.0.1:${port}`;
});
after(async () => {
  await harness.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

async function extendDataUri(file: string): Promise<{ id: string; url: string }> {
  const response = await fetch(`${base}/v2/video/generations`, {
    method: 'POST',
    headers: harness.headers,
    body: JSON.stringify({ model: 'google/veo3-1-fast-extend-video', prompt: 'go on', seed: 31, video_url: `data:video/mp4;base64,${fs.readFileSync(file).toString('base64')}` }),
  });
  const { id } = (await response.json()) as { id: string };
  const done = await waitFor(`extension ${id}`, async () => {
    const polled: any = await (await fetch(`${base}/v2/video/generations?generation_id=${id}`, { headers: harness.headers })).json();
    return polled.status === 'completed' || polled.status === 'error' ? polled : undefined;
  }, { timeoutMs: 120_000 });
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  return { id, url: done.video.url };
}

/** Decodes frames small and grey, for comparing pictures. */
async function greyFrames(file: string): Promise<Buffer[]> {
  const raw = await media.ffmpeg(['-i', file, '-vf', 'scale=64:36,format=gray', '-f', 'rawvideo', '-']);
  return Array.from({ length: raw.length / 2304 }, (_, index) => raw.subarray(index * 2304, (index + 1) * 2304));
}

const psnr = (a: Buffer, b: Buffer) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return sum === 0 ? Infinity : 10 * Math.log10((255 * 255) / (sum / a.length));
};

test('a clip with repetitive motion goes on with its own motion: source frames, no freeze, a seamless seam, sound without gap or step', async () => {
  const loop = path.join(scratch, 'pendulum.mp4');
  await media.ffmpeg([
    '-f', 'lavfi', '-i', "color=c=black:s=1280x720:r=24:d=8,geq=lum='40+180*lt(hypot(X-640-40*sin(2*PI*T/4),Y-360-20*cos(2*PI*T/4)),70)':cb=128:cr=128",
    '-f', 'lavfi', '-i', "aevalsrc='0.3*sin(2*PI*330*t)*(0.6+0.4*sin(2*PI*t/4))':s=48000:d=8",
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '192k', '-shortest', loop,
  ]);
  const { id, url } = await extendDataUri(loop);
  const task = await harness.segue.storage.tasks.findById(id);
  assert.equal(task?.engineDetails?.['method'], 'video_texture', JSON.stringify(task?.engineDetails));
  assert.ok(Number(task?.engineDetails?.['jumps']) >= 1);
  const result = path.join(scratch, 'pendulum-extended.mp4');
  await download(url, result);

  const source = await greyFrames(loop);
  const extended = await greyFrames(result);
  const seam = source.length;
  const added = extended.slice(seam);
  assert.equal(added.length, 7 * 24);
  const closest = added.map((frame) => Math.max(...source.map((candidate) => psnr(frame, candidate))));
  assert.ok(closest.every((value) => value >= 30), `every new frame is one of the source's (worst ${Math.min(...closest).toFixed(1)} dB)`);
  // Not a freeze: a second apart, the pictures differ as the source's own do.
  const secondApart = (frames: Buffer[]) => frames.slice(24).map((frame, index) => psnr(frame, frames[index]!));
  const sourceChange = Math.max(...secondApart(source));
  const moving = secondApart(added).filter((value) => value < Math.max(40, sourceChange)).length;
  assert.ok(moving > (added.length - 24) * 0.8, `the new seconds move (${moving} of ${added.length - 24} one-second steps change)`);
  const matched = new Set(added.map((frame) => source.reduce((best, candidate, index) => (psnr(frame, candidate) > psnr(frame, source[best]!) ? index : best), 0)));
  assert.ok(matched.size > 24, `the new seconds replay many different source frames (${matched.size})`);
  const seamPsnr = await framePsnr(result, seam - 1, seam);
  assert.ok(seamPsnr >= 30, `seam PSNR ${seamPsnr.toFixed(1)} dB`);

  const sourceSound = await monoSamples(loop);
  const sound = await monoSamples(result);
  const seamSample = Math.round((seam / 24) * 48000);
  const ownLargest = largestStep(sourceSound, 1, sourceSound.length);
  assert.ok(largestStep(sound, seamSample - 480, seamSample + 480) <= ownLargest * 1.05, 'no step at the seam beyond the source’s own');
  const rms = (samples: Float32Array, from: number, length: number) =>
    Math.sqrt(samples.subarray(from, from + length).reduce((sum, value) => sum + value * value, 0) / length);
  let quietestSource = Infinity;
  for (let at = 0; at < sourceSound.length - 2400; at += 1200) quietestSource = Math.min(quietestSource, rms(sourceSound, at, 2400));
  for (let at = seamSample - 4800; at < sound.length - 4800; at += 1200) {
    assert.ok(rms(sound, at, 2400) > quietestSource * 0.5, `no gap in the sound at ${(at / 48000).toFixed(2)} s`);
  }
});

test('a static clip cannot be looped: the camera-motion fallback runs and says why', async () => {
  const still = path.join(scratch, 'still.mp4');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'color=c=teal:s=1280x720:r=24:d=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', still]);
  const { id } = await extendDataUri(still);
  const details = (await harness.segue.storage.tasks.findById(id))?.engineDetails;
  assert.equal(details?.['method'], 'camera_motion_continuation');
  assert.match(String(details?.['fallbackReason']), /static|short/);
});

const hostileAlphabet = [..."'\"\\:;,=[]{}%()@#$^&*<>|`~!?-_+ /", '%{pts}', '%{localtime}', '\\n', "'\\''", 'é', 'ß', 'Ω', 'Ж', 'ש', 'ל', 'ום', 'ع', 'ر', 'ب', '\u200f', '\u200e', 'A', 'z', '9'];

test('hostile watermarks: every drawable string passes unescaped, never reaching a filter string', async () => {
  const random = seededRandom(2026);
  const workDir = temporaryDirectory('segue-watermark-');
  const frame = path.join(workDir, 'frame.png');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=320x180', '-frames:v', '1', frame]);
  const plain = await media.ffmpeg(['-i', frame, '-f', 'rawvideo', '-pix_fmt', 'gray', '-']);
  const filters = new Set<string>();
  try {
    for (let round = 0; round < 40; round++) {
      let text = '';
      const length = 1 + Math.floor(random() * 30);
      while ([...text].length < length) text += hostileAlphabet[Math.floor(random() * hostileAlphabet.length)]!;
      text = [...text].slice(0, 100).join('');
      if (!text.trim()) continue;
      assert.equal(checkWatermark(text), text, JSON.stringify(text));
      const filter = await watermarkFilter(text, workDir, 180);
      filters.add(filter);
      if (round % 4 === 0) {
        const drawn = await media.ffmpeg(['-i', 'frame.png', '-vf', `${filter},format=gray`, '-f', 'rawvideo', '-'], { cwd: workDir });
        assert.notDeepEqual(drawn, plain, `${JSON.stringify(text)} was drawn`);
        assert.equal(fs.readFileSync(path.join(workDir, 'watermark.txt'), 'utf8'), text, 'drawn from a file holding exactly the text');
      }
    }
    assert.equal(filters.size, 1, 'the filter string is the same whatever the text');
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  for (const refused of ['two\nlines', 'tab\there', 'emoji 🎬', '漢字', 'w'.repeat(101), '   ']) {
    assert.throws(() => checkWatermark(refused), ValidationError, JSON.stringify(refused));
  }
  const reply = await harness.segue.http.inject({ method: 'POST', url: '/api/v1/veo/generate', headers: harness.headers, payload: JSON.stringify({ prompt: 'x', watermark: 'line\nbreak' }) });
  assert.deepEqual([reply.json().code, reply.json().msg], [422, 'watermark must be a single line of text (no control characters)']);
});

test('upgrades: 1080p and 4K as tasks of their own, processing answers, results, and their 422s', async () => {
  const created: any = await (
    await fetch(`${base}/v2/video/generations`, { method: 'POST', headers: harness.headers, body: JSON.stringify({ model: 'google/veo-3.1-t2v-fast', prompt: 'x', duration: 4, resolution: '720p', seed: 77 }) })
  ).json();
  const veo = async (method: 'GET' | 'POST', url: string, body?: unknown) =>
    (await (await fetch(`${base}${url}`, { method, headers: harness.headers, ...(body ? { body: JSON.stringify(body) } : {}) })).json()) as any;

  assert.deepEqual(await veo('GET', `/api/v1/veo/get-1080p-video?taskId=${created.id}`), { code: 422, msg: 'record status is not success', data: null });
  await waitFor('the generation', async () => (await harness.segue.storage.tasks.findById(created.id))?.state === 'succeeded', { timeoutMs: 60_000 });
  assert.deepEqual(await veo('GET', '/api/v1/veo/get-1080p-video?taskId=nope'), { code: 422, msg: 'record is null', data: null });
  assert.equal((await veo('GET', `/api/v1/veo/get-1080p-video?taskId=${created.id}&index=1`)).code, 422);

  const first = await veo('GET', `/api/v1/veo/get-1080p-video?taskId=${created.id}&index=0`);
  assert.deepEqual(first, { code: 400, msg: '1080P is processing. It should be ready in 1-2 minutes. Please check back shortly.', data: null });
  const ready = await waitFor('the 1080p upgrade', async () => {
    const answer = await veo('GET', `/api/v1/veo/get-1080p-video?taskId=${created.id}`);
    return answer.code === 200 ? answer : undefined;
  }, { timeoutMs: 60_000 });
  const hd = path.join(scratch, 'hd.mp4');
  await download(ready.data.resultUrl, hd);
  const hdInfo = await media.probe(hd);
  assert.deepEqual([hdInfo.video!.width, hdInfo.video!.height], [1920, 1080]);
  assert.ok(hdInfo.audio, 'the sound is kept');
  const upgrades = await harness.segue.storage.tasks.listByState('succeeded', 1000);
  assert.equal(upgrades.filter((task) => task.parentTaskId === created.id && task.operation === 'upgrade_1080p').length, 1, 'one upgrade task however often asked');
  assert.deepEqual(await veo('POST', '/api/v1/veo/extend', { taskId: created.id, prompt: 'more' }), {
    code: 422,
    msg: 'Videos generated after 1080P generation cannot be extended.',
    data: null,
  });

  const { startCallbackReceiver } = await import('./helpers/callback-receiver.js');
  const receiver = await startCallbackReceiver();
  try {
    const started = await veo('POST', '/api/v1/veo/get-4k-video', { taskId: created.id, callBackUrl: receiver.url });
    assert.equal(started.code, 200);
    assert.deepEqual(Object.keys(started.data).sort(), ['imageUrls', 'resultUrls', 'taskId']);
    assert.equal(started.data.resultUrls, null);
    const again = await veo('POST', '/api/v1/veo/get-4k-video', { taskId: created.id });
    assert.ok(
      (again.code === 422 && again.msg.startsWith('4k is processing')) || again.msg === 'The video has been generated successfully',
      JSON.stringify(again),
    );
    const done = await waitFor('the 4K upgrade', async () => {
      const answer = await veo('POST', '/api/v1/veo/get-4k-video', { taskId: created.id });
      return answer.msg === 'The video has been generated successfully' ? answer : undefined;
    }, { timeoutMs: 120_000 });
    assert.equal(done.code, 422);
    assert.equal(done.data.taskId, started.data.taskId);
    const uhd = path.join(scratch, 'uhd.mp4');
    await download(done.data.resultUrls[0], uhd);
    const uhdInfo = await media.probe(uhd);
    assert.deepEqual([uhdInfo.video!.width, uhdInfo.video!.height], [3840, 2160]);
    await waitFor('the 4K callback', () => receiver.received.length === 1);
    assert.deepEqual(receiver.received[0]!.body, {
      code: 200,
      msg: '4K Video generated successfully.',
      data: { taskId: started.data.taskId, info: { resultUrls: done.data.resultUrls, imageUrls: done.data.imageUrls } },
    });
    const info = await veo('GET', `/api/v1/veo/record-info?taskId=${started.data.taskId}`);
    assert.deepEqual(info.data.response.mediaIds, [started.data.taskId]);
    assert.equal('fallbackFlag' in info.data, false, '4K records have no fallbackFlag');
  } finally {
    await receiver.close();
  }
});

test('a second extension of the same source reuses its kept analysis and gives the same frames', async () => {
  const post = async (url: string, body: unknown) =>
    (await (await fetch(`${base}${url}`, { method: 'POST', headers: harness.headers, body: JSON.stringify(body) })).json()) as any;
  const finished = async (taskId: string) => {
    const task = await waitFor(`task ${taskId}`, async () => {
      const current = await harness.segue.storage.tasks.findById(taskId);
      return current?.state === 'succeeded' || current?.state === 'failed' ? current : undefined;
    }, { timeoutMs: 120_000 });
    assert.equal(task.state, 'succeeded', task.failure?.message);
    return task;
  };
  const kept = path.join(harness.dataDir, 'work', 'kept', 'texture-analysis');
  const keptFiles = () => (fs.existsSync(kept) ? fs.readdirSync(kept).filter((name) => name.endsWith('.distances')) : []);
  const before = keptFiles();
  const generated = await post('/api/v1/veo/generate', { prompt: 'a lantern sways', model: 'veo3', seeds: 51515 });
  await finished(generated.data.taskId);

  const extendOnce = async () => {
    const extended = await post('/api/v1/veo/extend', { taskId: generated.data.taskId, prompt: 'it goes on', seeds: 61616 });
    assert.equal(extended.code, 200, extended.msg);
    return finished(extended.data.taskId);
  };
  const first = await extendOnce();
  assert.equal(first.engineDetails?.['method'], 'video_texture', JSON.stringify(first.engineDetails));
  assert.equal(first.engineDetails?.['analysis'], 'computed');
  const added = keptFiles().filter((name) => !before.includes(name));
  assert.equal(added.length, 1, 'the analysis of the source was kept, once');
  const keptFile = path.join(kept, added[0]!);
  const keptBytes = fs.readFileSync(keptFile);

  const second = await extendOnce();
  assert.equal(second.engineDetails?.['analysis'], 'kept', 'the second extension read the kept analysis instead of analysing again');
  assert.deepEqual(keptFiles().filter((name) => !before.includes(name)), added, 'nothing new was kept');
  assert.deepEqual(fs.readFileSync(keptFile), keptBytes);
  const framesOf = (task: typeof first) => frameHashes(path.join(harness.dataDir, 'blobs', task.result!.segmentKey!));
  assert.deepEqual(await framesOf(second), await framesOf(first), 'the kept analysis gives the frames a fresh one gave');
});
