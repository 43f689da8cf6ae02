import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { SafeHttpClient } from '../src/net/safe-http.js';
import { LocalRenderer } from '../src/providers/local/local-renderer.js';
import { AAC_FRAME, assemble, planJoin, spliceDistance } from '../src/providers/local/stitcher.js';
import { media, monoSamples } from './helpers/media-checks.js';
import { temporaryDirectory } from './helpers/test-segue.js';

const scratch = temporaryDirectory('segue-splice-');
const http = new SafeHttpClient({ allowPrivateNetworks: false });
after(async () => {
  await http.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

test('the splice lies on the packet grid, at least two packets before the seam, for every seam', () => {
  for (let seam = 100_000; seam < 100_000 + AAC_FRAME; seam++) {
    const distance = spliceDistance(seam, 4000);
    assert.equal((seam - distance) % AAC_FRAME, 0, `seam ${seam}`);
    assert.ok(distance >= 2 * AAC_FRAME && distance < 6000, `seam ${seam}: ${distance}`);
  }
});

test('a spliced join copies both streams from one input; one whose sound would not line up is redone with the sound encoded', async () => {
  const signal = new AbortController().signal;
  const renderer = new LocalRenderer(media, http, { mediaMaxBytes: 1e9, mediaTimeoutMs: 60_000 });
  const work = (name: string) => fs.mkdtempSync(path.join(scratch, name));
  const generated = await renderer.generate(
    { seed: 5, aspectRatio: '16:9', mode: 'text', imageUrls: [], durationSeconds: 4, resolution: '720p', generateAudio: true, watermark: null },
    work('g'),
    signal,
  );
  const directory = work('e');
  const extended = await renderer.extend({ seed: 6, sourcePath: generated.videoPath, aspectRatio: 'auto', generateAudio: true, watermark: null }, directory, signal);
  assert.equal(extended.details['stitch'], 'stream_copy');
  assert.equal(extended.details['audioJoin'], 'splice', JSON.stringify(extended.details));
  const source = await media.probe(generated.videoPath);
  const plan = await planJoin(media, generated.videoPath, source, '16:9', directory, signal);
  const splice = plan.audioSplice!;
  assert.ok(splice.seamSample - splice.spliceSample >= 2 * AAC_FRAME);

  const join = (name: string, audioSplice = splice) =>
    assemble(media, {
      sourcePath: generated.videoPath, source, plan: { ...plan, audioSplice }, segmentPath: extended.segmentPath!,
      segmentAudioPath: path.join(directory, 'segment-audio.f32'), soundSpliced: true,
      outputPath: path.join(directory, name), workDir: directory, signal,
    }).then((joined) => joined.audioJoin);
  // The join is reproducible, and the source's sound comes through bit for bit up to the splice.
  assert.equal(await join('again.mp4'), 'splice');
  assert.deepEqual(fs.readFileSync(path.join(directory, 'again.mp4')), fs.readFileSync(extended.videoPath));
  const original = await monoSamples(generated.videoPath);
  const joined = await monoSamples(extended.videoPath);
  for (let i = 0; i < splice.spliceSample; i++) assert.equal(joined[i], original[i], `sample ${i}`);

  // A splice one packet off would make the demuxer's seek take the wrong packet: read back, redone.
  assert.equal(await join('misplaced.mp4', { ...splice, spliceSample: splice.spliceSample - AAC_FRAME }), 're_encode');
  const redone = await media.probe(path.join(directory, 'misplaced.mp4'));
  assert.ok(Math.abs(redone.durationSeconds - 11) < 0.05, `duration ${redone.durationSeconds}`);
  await media.ffmpeg(['-xerror', '-i', path.join(directory, 'misplaced.mp4'), '-f', 'null', '-']);
});
