import fs from 'node:fs/promises';
import path from 'node:path';
import { EXTENSION_SECONDS } from '../../domain/task.js';
import type { MediaInfo, MediaTools } from '../../media/media-tools.js';
import { AUDIO_SAMPLE_RATE, containerArgs, videoEncoderArgs } from '../../media/output-format.js';
import type { JoinPlan } from './stitcher.js';
import { framesOf, planVideoTexture, type TexturePlan } from './video-texture.js';

/** How much of the source's end is analysed: enough material to loop, bounded work. */
const ANALYSED_SECONDS = 10;
const ANALYSIS_LONG_SIDE = 48;
const AUDIO_FADE_SECONDS = 0.012;

export interface TextureSegment {
  readonly segmentVideoPath: string;
  readonly segmentAudioPath: string | null;
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * The picture-making half of Video Textures: decodes the analysed window small and grey,
 * plans the walk, then builds the new seconds from the source's own frames (cross-fading a
 * few frames at each jump) and its own sound (following the same jumps with short
 * cross-fades). Returns undefined, with the reason, when the source cannot be looped.
 */
export async function renderTextureSegment(
  media: MediaTools,
  request: { sourcePath: string; source: MediaInfo; plan: JoinPlan; seed: number; withAudio: boolean; watermark: string | null },
  workDir: string,
  signal: AbortSignal,
): Promise<TextureSegment | { fallback: string }> {
  const { plan, source } = request;
  const sourceSeconds = source.video!.durationSeconds;
  const windowStart = Math.max(0, sourceSeconds - ANALYSED_SECONDS);
  const framesInWindow = Math.round((sourceSeconds - windowStart) * plan.fps);
  const input = ['-ss', windowStart.toFixed(6), '-i', request.sourcePath, '-an'];
  const toOutput = plan.sourceFilter ? `${plan.sourceFilter},` : '';
  const [smallWidth, smallHeight] =
    plan.width >= plan.height
      ? [ANALYSIS_LONG_SIDE, Math.round((ANALYSIS_LONG_SIDE * plan.height) / plan.width)]
      : [Math.round((ANALYSIS_LONG_SIDE * plan.width) / plan.height), ANALYSIS_LONG_SIDE];

  const grey = await media.ffmpeg(
    // -vsync 0: one picture per decoded frame (no duplicates over timestamp gaps), so that indices
    // here are the `n` of the full-size decode below.
    [...input, '-vf', `${toOutput}scale=${smallWidth}:${smallHeight}:flags=area,format=gray`, '-vsync', '0', '-frames:v', String(framesInWindow + 2 * plan.fps), '-f', 'rawvideo', '-'],
    { signal },
  );
  const pixels = smallWidth * smallHeight;
  const frames = Array.from({ length: Math.floor(grey.length / pixels) }, (_, index) =>
    Float32Array.from(grey.subarray(index * pixels, (index + 1) * pixels), (value) => value / 255),
  );
  const newFrames = Math.round(EXTENSION_SECONDS * plan.fps);
  const outcome = planVideoTexture(frames, { frames: newFrames, seed: request.seed });
  if ('fallback' in outcome) return outcome;
  const texture = outcome.plan;
  const count = frames.length;

  // Every full-size frame the walk needs (and the last source frame, to measure the seam).
  const shown = framesOf(texture);
  const fadeSources = fadeContinuations(texture, count);
  const needed = [...new Set([...shown, ...fadeSources.flat(), count - 1])].sort((a, b) => a - b);
  const frameBytes = (plan.width * plan.height * 3) / 2;
  const neededFile = path.join(workDir, 'needed.yuv');
  const selection = needed.map((index) => `eq(n\\,${index})`).join('+');
  await media.ffmpeg(
    [...input, '-vf', `${toOutput}select='${selection}'`, '-vsync', '0', '-pix_fmt', 'yuv420p', '-f', 'rawvideo', neededFile],
    { signal },
  );
  const positions = new Map(needed.map((index, position) => [index, position]));
  const file = await fs.open(neededFile, 'r');
  const segmentRaw = path.join(workDir, 'segment.yuv');
  const output = await fs.open(segmentRaw, 'w');
  let seamPsnr = Infinity;
  try {
    const read = async (index: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(frameBytes);
      const { bytesRead } = await file.read(buffer, 0, frameBytes, positions.get(index)! * frameBytes);
      if (bytesRead !== frameBytes) throw new Error(`frame ${index} could not be read back`);
      return buffer;
    };
    let shownIndex = 0;
    for (const [runIndex, run] of texture.runs.entries()) {
      const fades = runIndex === 0 ? [] : fadeSources[runIndex - 1]!;
      for (let frame = run.from; frame <= run.to; frame++, shownIndex++) {
        let picture: Buffer = await read(frame);
        const offset = frame - run.from;
        const continuation = fades[offset];
        if (continuation !== undefined) {
          // Cross-fade: the old stretch playing on fades out under the new one fading in.
          picture = blend(await read(continuation), picture, (offset + 1) / (fades.length + 1));
        }
        if (shownIndex === 0) seamPsnr = lumaPsnr(await read(count - 1), picture, plan.width * plan.height);
        await output.write(picture);
      }
    }
  } finally {
    await file.close();
    await output.close();
    await fs.rm(neededFile, { force: true });
  }

  const segmentVideoPath = path.join(workDir, 'segment-video.mp4');
  await media.ffmpeg(
    [
      '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${plan.width}x${plan.height}`, '-r', String(plan.fps), '-i', segmentRaw,
      ...(request.watermark ? ['-vf', request.watermark] : []),
      ...videoEncoderArgs(plan.fps),
      ...(plan.timescale ? ['-video_track_timescale', String(plan.timescale)] : []),
      ...containerArgs, segmentVideoPath,
    ],
    { signal, cwd: workDir },
  );
  await fs.rm(segmentRaw, { force: true });

  const segmentAudioPath = request.withAudio
    ? await textureAudio(media, request.sourcePath, source, windowStart, texture, plan.fps, workDir, signal)
    : null;
  return {
    segmentVideoPath,
    segmentAudioPath,
    details: {
      method: 'video_texture',
      jumps: texture.jumps,
      worstTransitionCost: texture.worstTransitionCost,
      seamPsnr: Number.isFinite(seamPsnr) ? Math.round(seamPsnr * 100) / 100 : 'identical',
      analysedFrames: count,
    },
  };
}

/** For each jump after the first: the frames the old stretch would have shown next, to fade from. */
function fadeContinuations(texture: TexturePlan, count: number): number[][] {
  return texture.runs.slice(0, -1).map((run) =>
    Array.from({ length: texture.crossFadeFrames }, (_, k) => run.to + 1 + k).filter((frame) => frame < count),
  );
}

function blend(from: Buffer, to: Buffer, weight: number): Buffer {
  const result = Buffer.alloc(to.length);
  for (let i = 0; i < to.length; i++) result[i] = Math.round(from[i]! * (1 - weight) + to[i]! * weight);
  return result;
}

function lumaPsnr(a: Buffer, b: Buffer, lumaBytes: number): number {
  let sum = 0;
  for (let i = 0; i < lumaBytes; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  const mse = sum / lumaBytes;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/**
 * The sound follows the picture's jumps, each joined with a short equal-power cross-fade; its
 * first samples are bent onto the source's last one, so the seam has no step.
 */
async function textureAudio(
  media: MediaTools,
  sourcePath: string,
  source: MediaInfo,
  windowStart: number,
  texture: TexturePlan,
  fps: number,
  workDir: string,
  signal: AbortSignal,
): Promise<string> {
  const sourceSeconds = source.video!.durationSeconds;
  const windowSamples = Math.round((sourceSeconds - windowStart) * AUDIO_SAMPLE_RATE);
  const samples = new Float32Array(windowSamples * 2);
  if (source.audio) {
    const raw = await media.ffmpeg(
      ['-ss', windowStart.toFixed(6), '-i', sourcePath, '-vn', '-af', `aformat=sample_rates=${AUDIO_SAMPLE_RATE}:channel_layouts=stereo`, '-f', 'f32le', '-'],
      { signal },
    );
    const decoded = new Float32Array(raw.buffer, raw.byteOffset, Math.floor(raw.length / 4));
    samples.set(decoded.subarray(0, samples.length));
  }
  const sampleOf = (frame: number) => Math.round((frame / fps) * AUDIO_SAMPLE_RATE);
  const fade = Math.round(AUDIO_FADE_SECONDS * AUDIO_SAMPLE_RATE);
  const total = Math.round(EXTENSION_SECONDS * AUDIO_SAMPLE_RATE);
  const out = new Float32Array(total * 2);
  let written = 0;
  for (const [index, run] of texture.runs.entries()) {
    const from = sampleOf(run.from);
    const to = Math.min(sampleOf(run.to + 1), windowSamples);
    const previousEnd = index === 0 ? null : Math.min(sampleOf(texture.runs[index - 1]!.to + 1), windowSamples);
    for (let s = from; s < to && written < total; s++, written++) {
      for (let channel = 0; channel < 2; channel++) {
        let value = samples[s * 2 + channel] ?? 0;
        const k = s - from;
        if (previousEnd !== null && k < fade && previousEnd + k < windowSamples) {
          const t = (k + 1) / (fade + 1);
          value = value * Math.sin((t * Math.PI) / 2) + samples[(previousEnd + k) * 2 + channel]! * Math.cos((t * Math.PI) / 2);
        }
        out[written * 2 + channel] = value;
      }
    }
  }
  // Bend the first few milliseconds onto the source's last sample: no click at the seam.
  const ramp = Math.min(fade, written);
  for (let channel = 0; channel < 2; channel++) {
    const gap = (samples[(windowSamples - 1) * 2 + channel] ?? 0) - out[channel]!;
    for (let s = 0; s < ramp; s++) out[s * 2 + channel]! += gap * (1 - s / ramp);
  }
  const rawPath = path.join(workDir, 'segment-audio.f32');
  await fs.writeFile(rawPath, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
  const wavPath = path.join(workDir, 'segment-audio.wav');
  await media.ffmpeg(['-f', 'f32le', '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '2', '-i', rawPath, '-c:a', 'pcm_s16le', wavPath], { signal });
  await fs.rm(rawPath, { force: true });
  return wavPath;
}
