import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MediaTools } from '../src/media/media-tools.js';
import { SafeHttpClient } from '../src/net/safe-http.js';
import { LocalRenderer } from '../src/providers/local/local-renderer.js';
import { audioEncoderArgs } from '../src/media/output-format.js';
import { ambientAudioSource } from '../src/providers/local/scene-graphs.js';
import { assemble, planJoin } from '../src/providers/local/stitcher.js';

const media = new MediaTools({ defaultTimeoutMs: 600_000 });
const http = new SafeHttpClient({ allowPrivateNetworks: false });
const renderer = new LocalRenderer(media, http, { mediaMaxBytes: 1e9, mediaTimeoutMs: 60_000 });
const signal = new AbortController().signal;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'segue-bench-engine-'));
let counter = 0;
const workDir = () => fs.mkdtempSync(path.join(root, `w${counter++}-`));
const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;
const round = (value: number, places = 3) => Math.round(value * 10 ** places) / 10 ** places;

/** Sources of 8, 60 and 140 s: an 8 s generation, and copies of it joined end to end (stream copy). */
let sourcesPromise: Promise<Record<number, string>> | undefined;
function sources(): Promise<Record<number, string>> {
  sourcesPromise ??= (async () => {
    const generated = await renderer.generate(
      { seed: 20261120, aspectRatio: '16:9', mode: 'text', imageUrls: [], durationSeconds: 8, resolution: '720p', generateAudio: true, watermark: null },
      workDir(),
      signal,
    );
    // The picture: the generation's video stream repeated (stream copy: the same parameter sets, so
    // these sources join by stream copy like any Segue result); the sound: one continuous track.
    const pictureOnly = path.join(root, 'picture.mp4');
    await media.ffmpeg(['-i', generated.videoPath, '-an', '-c', 'copy', pictureOnly]);
    const list = path.join(root, 'repeat.txt');
    fs.writeFileSync(list, Array.from({ length: 18 }, () => `file '${pictureOnly}'`).join('\n'));
    const long = async (length: number) => {
      const picture = path.join(root, `picture-${length}.mp4`);
      await media.ffmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', '-t', String(length), picture]);
      // Stream copy cuts on a keyframe: the sound is made as long as the picture turned out.
      const pictureSeconds = (await media.probe(picture)).video!.durationSeconds;
      const output = path.join(root, `source-${length}.mp4`);
      await media.ffmpeg([
        '-i', picture, '-f', 'lavfi', '-i', ambientAudioSource(7, pictureSeconds),
        '-map', '0:v', '-map', '1:a', '-c:v', 'copy', ...audioEncoderArgs, '-movflags', '+faststart', output,
      ]);
      return output;
    };
    return { 8: generated.videoPath, 60: await long(60), 140: await long(140) };
  })();
  return sourcesPromise;
}

async function timedExtension(sourcePath: string) {
  const started = process.hrtime.bigint();
  const output = await renderer.extend({ seed: 4242, sourcePath, aspectRatio: 'auto', generateAudio: true, watermark: null }, workDir(), signal);
  if (output.details['stitch'] !== 'stream_copy') throw new Error(`the benchmark source was re-encoded: ${output.details['stitchReason']}`);
  return { wallSeconds: seconds(started), output };
}

/** Engine speed at 720p: seconds of video an extension produces per second of wall time. */
export async function engineSpeedBenchmark(): Promise<Record<string, unknown>> {
  const source = (await sources())[8]!;
  await timedExtension(source); // warm-up: caches, page cache
  const { wallSeconds, output } = await timedExtension(source);
  return {
    benchmark: 'engine-speed-720p',
    method: output.details['method'],
    stitch: output.details['stitch'],
    extensionWallSeconds: round(wallSeconds),
    newSecondsPerWallSecond: round(7 / wallSeconds, 2),
    outputSecondsPerWallSecond: round(output.info.durationSeconds / wallSeconds, 2),
    targets: { newSecondsPerWallSecondAtLeast: 4 },
    met: 7 / wallSeconds >= 4,
  };
}

/** Extension cost against source length: the same extension of 8, 60 and 140 s sources. */
export async function extensionCostBenchmark(): Promise<Record<string, unknown>> {
  const all = await sources();
  const times: Record<string, number> = {};
  for (const length of [8, 60, 140]) {
    const runs = [await timedExtension(all[length]!), await timedExtension(all[length]!)];
    times[`source${length}s`] = round(Math.min(...runs.map((run) => run.wallSeconds)));
  }
  const ratio = round(times['source140s']! / times['source8s']!);
  return { benchmark: 'extension-cost-vs-source-length', wallSeconds: times, ratio140to8: ratio, targets: { ratioAtMost: 1.3 }, met: ratio <= 1.3 };
}

/** The join step against a plain `ffmpeg -f concat -c copy` of the same two parts, in one run. */
export async function stitchCostBenchmark(): Promise<Record<string, unknown>> {
  const sourcePath = (await sources())[140]!;
  const directory = workDir();
  await renderer.extend({ seed: 99, sourcePath, aspectRatio: 'auto', generateAudio: true, watermark: null }, directory, signal);
  const source = await media.probe(sourcePath);
  const plan = await planJoin(media, sourcePath, source, '16:9', directory, signal);
  const segmentVideoPath = path.join(directory, 'segment-video.mp4');
  const segmentAudioPath = path.join(directory, 'segment-audio.wav');
  const segmentPath = path.join(directory, 'segment.mp4');
  const ours: number[] = [];
  const plain: number[] = [];
  for (let round = 0; round < 3; round++) {
    let started = process.hrtime.bigint();
    await assemble(media, {
      sourcePath, source, plan, segmentVideoPath, segmentAudioPath,
      outputPath: path.join(directory, `joined-${round}.mp4`), segmentOutputPath: path.join(directory, `segment-${round}.mp4`),
      workDir: directory, signal,
    });
    ours.push(seconds(started));
    const list = path.join(directory, 'plain.txt');
    fs.writeFileSync(list, `file '${sourcePath}'\nfile '${segmentPath}'`);
    started = process.hrtime.bigint();
    await media.ffmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', '-movflags', '+faststart', path.join(directory, `plain-${round}.mp4`)]);
    plain.push(seconds(started));
  }
  const ratio = round(Math.min(...ours) / Math.min(...plain), 2);
  return {
    benchmark: 'stitch-cost-vs-plain-concat',
    sourceSeconds: round(source.durationSeconds, 1),
    joinSeconds: round(Math.min(...ours)),
    plainConcatSeconds: round(Math.min(...plain)),
    ratio,
    targets: { ratioAtMost: 1.2 },
    met: ratio <= 1.2,
  };
}

export async function cleanUpEngineBenchmarks(): Promise<void> {
  await http.close();
  fs.rmSync(root, { recursive: true, force: true });
}
