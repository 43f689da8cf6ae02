import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MediaTools } from '../src/media/media-tools.js';
import { SafeHttpClient } from '../src/net/safe-http.js';
import { LocalRenderer } from '../src/providers/local/local-renderer.js';
import { audioEncoderArgs, OUTPUT_FPS, videoEncoderArgs } from '../src/media/output-format.js';
import { ambientAudioSource } from '../src/providers/local/scene-graphs.js';
import { assemble, planJoin } from '../src/providers/local/stitcher.js';
import { TextureAnalysisCache } from '../src/providers/local/texture-analysis.js';

const media = new MediaTools({ defaultTimeoutMs: 600_000 });
const http = new SafeHttpClient({ allowPrivateNetworks: false });
const signal = new AbortController().signal;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'segue-bench-engine-'));
const renderer = new LocalRenderer(media, http, { mediaMaxBytes: 1e9, mediaTimeoutMs: 60_000, analysisCache: new TextureAnalysisCache(path.join(root, 'kept')) });
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

async function timedExtension(sourcePath: string, sourceKey?: string) {
  const started = process.hrtime.bigint();
  const output = await renderer.extend({ seed: 4242, sourcePath, sourceKey, aspectRatio: 'auto', generateAudio: true, watermark: null }, workDir(), signal);
  if (output.details['stitch'] !== 'stream_copy') throw new Error(`the benchmark source was re-encoded: ${output.details['stitchReason']}`);
  return { wallSeconds: seconds(started), output };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const loadAverage = () => os.loadavg().map((value) => round(value, 2));

/**
 * The ffmpeg floor of an extension's work, timed in the same run: decoding the source's last
 * seconds and encoding 7 new seconds at 720p with Segue's encoder settings, in one plain ffmpeg
 * process (no analysis, no walk, no join). No extension can be faster than this on the machine.
 */
async function transcodeFloor(sourcePath: string, sourceSeconds: number): Promise<number> {
  const started = process.hrtime.bigint();
  await media.ffmpeg([
    '-ss', Math.max(0, sourceSeconds - 7).toFixed(3), '-i', sourcePath, '-an', '-t', '7',
    ...videoEncoderArgs(OUTPUT_FPS), '-f', 'mp4', path.join(workDir(), 'floor.mp4'),
  ]);
  return seconds(started);
}

/**
 * Engine speed at 720p: seconds of video an extension produces per second of wall time, for a
 * first extension of a source (analysed afresh) and a later one (its analysis kept), beside the
 * ffmpeg floor of the same work, measured in turns in one run.
 */
export async function engineSpeedBenchmark(): Promise<Record<string, unknown>> {
  const source = (await sources())[8]!;
  const sourceSeconds = (await media.probe(source)).video!.durationSeconds;
  await timedExtension(source); // warm-up: caches, page cache
  const first: number[] = [];
  const later: number[] = [];
  const floor: number[] = [];
  let details: Readonly<Record<string, unknown>> = {};
  const loadBefore = loadAverage();
  for (let turn = 0; turn < 3; turn++) {
    const key = `bench/source-${turn}`;
    first.push((await timedExtension(source, key)).wallSeconds);
    const kept = await timedExtension(source, key);
    later.push(kept.wallSeconds);
    details = kept.output.details;
    floor.push(await transcodeFloor(source, sourceSeconds));
  }
  const firstSeconds = median(first);
  const laterSeconds = median(later);
  const floorSeconds = median(floor);
  return {
    benchmark: 'engine-speed-720p',
    method: details['method'],
    stitch: details['stitch'],
    analysis: details['analysis'],
    firstExtensionWallSeconds: round(firstSeconds),
    laterExtensionWallSeconds: round(laterSeconds),
    runs: { first: first.map((value) => round(value)), later: later.map((value) => round(value)), floor: floor.map((value) => round(value)) },
    newSecondsPerWallSecond: { first: round(7 / firstSeconds, 2), later: round(7 / laterSeconds, 2) },
    ffmpegFloorSeconds: round(floorSeconds),
    ffmpegFloorNewSecondsPerWallSecond: round(7 / floorSeconds, 2),
    ratioToFloor: { first: round(firstSeconds / floorSeconds, 2), later: round(laterSeconds / floorSeconds, 2) },
    loadAverage: { before: loadBefore, after: loadAverage() },
    targets: { newSecondsPerWallSecondAtLeast: 4 },
    met: { first: 7 / firstSeconds >= 4, later: 7 / laterSeconds >= 4 },
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
  return { benchmark: 'extension-cost-vs-source-length', wallSeconds: times, ratio140to8: ratio, loadAverage: loadAverage(), targets: { ratioAtMost: 1.3 }, met: ratio <= 1.3 };
}

/**
 * The join against a plain `ffmpeg -f concat -c copy` of the same two files (the source and the
 * new seconds), in turns in one run. Both are one ffmpeg run reading one concat input; the join
 * also cuts the source's sound at the splice and takes the new seconds' from there, and the same
 * run lists the sound's packets (a second output) to check the splice.
 */
export async function stitchCostBenchmark(): Promise<Record<string, unknown>> {
  const sourcePath = (await sources())[140]!;
  const directory = workDir();
  const extended = await renderer.extend({ seed: 99, sourcePath, aspectRatio: 'auto', generateAudio: true, watermark: null }, directory, signal);
  if (extended.details['audioJoin'] !== 'splice') throw new Error(`the benchmark's sound was not spliced: ${JSON.stringify(extended.details)}`);
  const source = await media.probe(sourcePath);
  const plan = await planJoin(media, sourcePath, source, '16:9', directory, signal);
  const segmentPath = path.join(directory, 'segment.mp4');
  const ours: number[] = [];
  const plain: number[] = [];
  const loadBefore = loadAverage();
  for (let turn = 0; turn < 7; turn++) {
    const list = path.join(directory, 'plain.txt');
    fs.writeFileSync(list, `file '${sourcePath}'\nfile '${segmentPath}'`);
    let started = process.hrtime.bigint();
    await media.ffmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', '-movflags', '+faststart', path.join(directory, `plain-${turn}.mp4`)]);
    plain.push(seconds(started));
    started = process.hrtime.bigint();
    await assemble(media, {
      sourcePath, source, plan, segmentPath, segmentAudioPath: path.join(directory, 'segment-audio.f32'), soundSpliced: true,
      outputPath: path.join(directory, `joined-${turn}.mp4`), workDir: directory, signal,
    });
    ours.push(seconds(started));
  }
  const ratio = round(median(ours) / median(plain), 2);
  return {
    benchmark: 'stitch-cost-vs-plain-concat',
    sourceSeconds: round(source.durationSeconds, 1),
    joinSeconds: round(median(ours)),
    plainConcatSeconds: round(median(plain)),
    runs: { join: ours.map((value) => round(value)), plain: plain.map((value) => round(value)) },
    ratio,
    loadAverage: { before: loadBefore, after: loadAverage() },
    targets: { ratioAtMost: 1.2 },
    met: ratio <= 1.2,
  };
}

export async function cleanUpEngineBenchmarks(): Promise<void> {
  await http.close();
  fs.rmSync(root, { recursive: true, force: true });
}
