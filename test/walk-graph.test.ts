import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readSeamPsnr, walkGraph } from '../src/providers/local/walk-graph.js';
import type { TexturePlan } from '../src/providers/local/video-texture.js';
import { media } from './helpers/media-checks.js';
import { temporaryDirectory } from './helpers/test-segue.js';

const [width, height] = [64, 36];
const lumaOf = (frame: number) => 16 + 5 * frame;

test('the walk graph plays the planned frames in order, cross-fades rounded as planned, and measures the seam', async () => {
  const directory = temporaryDirectory('segue-walk-');
  try {
    // A lossless source whose frame n is flat grey at lumaOf(n): every output frame tells which frames made it.
    const count = 40;
    const frameBytes = (width * height * 3) / 2;
    const raw = Buffer.alloc(frameBytes * count, 128);
    for (let n = 0; n < count; n++) raw.fill(lumaOf(n), n * frameBytes, n * frameBytes + width * height);
    const source = path.join(directory, 'numbered.mkv');
    await media.ffmpeg(['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-r', '24', '-i', 'pipe:0', '-c:v', 'ffv1', source], { input: raw });

    const texture: TexturePlan = {
      runs: [{ from: 10, to: 25 }, { from: 5, to: 20 }, { from: 30, to: 37 }, { from: 2, to: 3 }, { from: 6, to: 6 }],
      crossFadeFrames: 4,
      jumps: 5,
      worstTransitionCost: 0,
    };
    // The frames each old stretch would have shown next: cut short at the window's end, longer than a one-frame run.
    const fadeSources = [[26, 27, 28, 29], [21, 22, 23, 24], [38, 39], [4, 5, 6, 7]];
    const graph = walkGraph({ texture, fadeSources, count, fps: 24, sourceFilter: null, watermark: null, seamStatsFile: 'seam.log' });
    const output = await media.ffmpeg(
      ['-ss', '0', '-i', source, '-filter_complex', graph, '-map', '[v]', '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-'],
      { cwd: directory },
    );

    const expected: number[] = [];
    for (const [index, run] of texture.runs.entries()) {
      const fades = index === 0 ? [] : fadeSources[index - 1]!;
      for (let frame = run.from; frame <= run.to; frame++) {
        const fadingOut = fades[frame - run.from];
        const weight = (frame - run.from + 1) / (fades.length + 1);
        expected.push(fadingOut === undefined ? lumaOf(frame) : Math.round(lumaOf(fadingOut) * (1 - weight) + lumaOf(frame) * weight));
      }
    }
    assert.equal(output.length, expected.length * frameBytes, 'one output frame per planned frame');
    const lumas = expected.map((_, index) => {
      const frame = output.subarray(index * frameBytes, (index + 1) * frameBytes);
      const luma = frame[0]!;
      assert.ok(frame.subarray(0, width * height).every((value) => value === luma), `frame ${index} is flat`);
      assert.ok(frame.subarray(width * height).every((value) => value === 128), `frame ${index} keeps its colour`);
      return luma;
    });
    assert.deepEqual(lumas, expected);

    // The seam: the source's last frame against the walk's first, |211 − 66| on every luma sample.
    const seam = await readSeamPsnr(path.join(directory, 'seam.log'));
    assert.equal(seam, Math.round(10 * Math.log10((255 * 255) / (lumaOf(count - 1) - lumaOf(10)) ** 2) * 100) / 100);
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
});
