import fs from 'node:fs';
import path from 'node:path';
import { MediaTools } from '../../src/media/media-tools.js';
import { temporaryDirectory } from './test-segue.js';

export const media = new MediaTools({ defaultTimeoutMs: 120_000 });

/** PSNR (dB, averaged over channels) between decoded frames `first` and `second` of a video. */
export async function framePsnr(videoPath: string, first: number, second: number): Promise<number> {
  const directory = temporaryDirectory('segue-frames-');
  try {
    const a = path.join(directory, 'a.png');
    const b = path.join(directory, 'b.png');
    await media.ffmpeg(['-i', videoPath, '-vf', `select=eq(n\\,${first})`, '-vsync', '0', '-frames:v', '1', a]);
    await media.ffmpeg(['-i', videoPath, '-vf', `select=eq(n\\,${second})`, '-vsync', '0', '-frames:v', '1', b]);
    const statsFile = path.join(directory, 'psnr.log');
    await media.ffmpeg(['-i', a, '-i', b, '-lavfi', `psnr=stats_file=${statsFile}`, '-f', 'null', '-']);
    const line = fs.readFileSync(statsFile, 'utf8').trim().split('\n')[0] ?? '';
    const value = /psnr_avg:(\S+)/.exec(line)?.[1];
    if (!value) throw new Error(`no PSNR in ${line}`);
    return value === 'inf' ? Infinity : Number(value);
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

/** One MD5 per decoded video frame: equal lists mean identical pictures. */
export async function frameHashes(videoPath: string): Promise<string[]> {
  const output = await media.ffmpeg(['-i', videoPath, '-map', '0:v', '-f', 'framemd5', '-']);
  return output
    .toString('utf8')
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(',').pop()!.trim());
}

/** The sound of a file as mono 48 kHz samples. */
export async function monoSamples(file: string): Promise<Float32Array> {
  const raw = await media.ffmpeg(['-i', file, '-vn', '-ac', '1', '-ar', '48000', '-f', 'f32le', '-']);
  return new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
}

/** The largest jump between neighbouring samples in [from, to): a click shows up here. */
export function largestStep(samples: Float32Array, from: number, to: number): number {
  let largest = 0;
  for (let i = Math.max(1, from); i < Math.min(to, samples.length); i++) largest = Math.max(largest, Math.abs(samples[i]! - samples[i - 1]!));
  return largest;
}
