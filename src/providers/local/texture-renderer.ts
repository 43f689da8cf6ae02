import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { EXTENSION_SECONDS } from '../../domain/task.js';
import type { MediaInfo, MediaTools } from '../../media/media-tools.js';
import { AUDIO_SAMPLE_RATE } from '../../media/output-format.js';
import { encodeSegment, type EncodedSegment } from './segment-encoder.js';
import { AAC_FRAME, type JoinPlan } from './stitcher.js';
import { ANALYSED_SECONDS, type AnalysisWindow, analyseWindow, analysisKey, type TextureAnalysisCache } from './texture-analysis.js';
import { framesOf, planVideoTexture, type TexturePlan } from './video-texture.js';

const AUDIO_FADE_SECONDS = 0.012;

export interface TextureSegment extends EncodedSegment {
  readonly details: Readonly<Record<string, unknown>>;
}

export interface TextureRequest {
  readonly sourcePath: string;
  readonly source: MediaInfo;
  readonly plan: JoinPlan;
  readonly seed: number;
  readonly withAudio: boolean;
  readonly watermark: string | null;
  /** Kept analyses, and the source's blob key to find its own (absent: analysed afresh, not kept). */
  readonly analysisCache?: TextureAnalysisCache | undefined;
  readonly sourceKey?: string | undefined;
}

/**
 * The picture-making half of Video Textures: the window's analysis (kept per source), the walk
 * planned from it, then the new seconds built from the source's own frames (cross-fading a few
 * frames at each jump) and its own sound (following the same jumps with short cross-fades).
 * The needed full-size frames stream from one decoder through this process into one encoder;
 * nothing full-size touches the disk. Returns the reason instead when the source cannot be
 * looped.
 */
export async function renderTextureSegment(media: MediaTools, request: TextureRequest, workDir: string, signal: AbortSignal): Promise<TextureSegment | { fallback: string }> {
  const { plan, source } = request;
  const sourceSeconds = source.video!.durationSeconds;
  const windowStart = Math.max(0, sourceSeconds - ANALYSED_SECONDS);
  const framesInWindow = Math.round((sourceSeconds - windowStart) * plan.fps);
  const window: AnalysisWindow = {
    startSeconds: windowStart,
    maxFrames: framesInWindow + 2 * plan.fps,
    sourceFilter: plan.sourceFilter,
    width: plan.width,
    height: plan.height,
    fps: plan.fps,
  };
  // The sound of the window is read beside the analysis (it is small and quick).
  const windowStartSample = Math.round(windowStart * AUDIO_SAMPLE_RATE);
  const seamSample = Math.round(sourceSeconds * AUDIO_SAMPLE_RATE);
  const windowSound =
    request.withAudio && source.audio
      ? media.audioSamples(request.sourcePath, { from: windowStartSample, count: seamSample - windowStartSample, sampleRate: AUDIO_SAMPLE_RATE }, signal)
      : Promise.resolve(new Float32Array((seamSample - windowStartSample) * 2));
  windowSound.catch(() => undefined);
  const analyse = () => analyseWindow(media, request.sourcePath, window, signal);
  const { analysis, reused } =
    request.analysisCache && request.sourceKey
      ? await request.analysisCache.getOrCompute(analysisKey(request.sourceKey, window), analyse)
      : { analysis: await analyse(), reused: false };
  const newFrames = Math.round(EXTENSION_SECONDS * plan.fps);
  const outcome = planVideoTexture(analysis, { frames: newFrames, seed: request.seed });
  if ('fallback' in outcome) return outcome;
  const texture = outcome.plan;
  const count = analysis.count;

  const sound = request.withAudio ? textureSound(await windowSound, texture, plan, seamSample - windowStartSample) : null;
  const toOutput = plan.sourceFilter ? `${plan.sourceFilter},` : '';
  // Every full-size frame the walk needs (and the last source frame, to measure the seam).
  const fadeSources = fadeContinuations(texture, count);
  const needed = [...new Set([...framesOf(texture), ...fadeSources.flat(), count - 1])].sort((a, b) => a - b);
  const decoder = media.ffmpegProcess(
    [
      '-ss', windowStart.toFixed(6), '-i', request.sourcePath, '-an',
      '-vf', `${toOutput}select='${needed.map((index) => `eq(n\\,${index})`).join('+')}'`,
      '-vsync', '0', '-frames:v', String(needed.length), '-pix_fmt', 'yuv420p', '-f', 'rawvideo', 'pipe:1',
    ],
    { signal },
  );
  const frameBytes = (plan.width * plan.height * 3) / 2;
  let seamPsnr = Infinity;
  const feed = async (input: Writable, encoderFinished: Promise<void>) => {
    const frames = new FrameStore(decoder.stdout, needed, frameBytes, lastUses(texture, fadeSources, count));
    let firstPicture: Buffer | undefined;
    let shownIndex = 0;
    for (const [runIndex, run] of texture.runs.entries()) {
      const fades = runIndex === 0 ? [] : fadeSources[runIndex - 1]!;
      for (let frame = run.from; frame <= run.to; frame++, shownIndex++) {
        let picture = await frames.get(frame);
        const offset = frame - run.from;
        const continuation = fades[offset];
        if (continuation !== undefined) {
          // Cross-fade: the old stretch playing on fades out under the new one fading in.
          picture = blend(await frames.get(continuation), picture, (offset + 1) / (fades.length + 1));
        }
        if (shownIndex === 0) firstPicture = picture;
        frames.release(shownIndex);
        await write(input, picture, encoderFinished);
      }
    }
    input.end();
    seamPsnr = lumaPsnr(await frames.get(count - 1), firstPicture!, plan.width * plan.height);
    await decoder.finished;
  };
  let encoded: EncodedSegment;
  try {
    encoded = await encodeSegment(media, {
      plan,
      videoInput: ['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${plan.width}x${plan.height}`, '-r', String(plan.fps), '-i', 'pipe:0'],
      videoFilter: request.watermark,
      frames: null,
      sound,
      workDir,
      signal,
      feed,
    });
  } finally {
    decoder.stdout.destroy();
    await decoder.finished.catch(() => undefined);
  }
  return {
    ...encoded,
    details: {
      method: 'video_texture',
      jumps: texture.jumps,
      worstTransitionCost: texture.worstTransitionCost,
      seamPsnr: Number.isFinite(seamPsnr) ? Math.round(seamPsnr * 100) / 100 : 'identical',
      analysedFrames: count,
      analysis: reused ? 'kept' : request.analysisCache && request.sourceKey ? 'computed' : 'computed_unkept',
    },
  };
}

/** Writes one frame, waiting while the encoder's input is full (or failing with the encoder). */
async function write(input: Writable, picture: Buffer, encoderFinished: Promise<void>): Promise<void> {
  if (input.write(picture)) return;
  await Promise.race([
    once(input, 'drain'),
    encoderFinished.then(() => {
      throw new Error('the encoder ended before the last frame');
    }),
  ]);
}

/**
 * The decoder's frames (the needed ones, in order) as they arrive, each kept only until the
 * walk's last use of it: memory holds the frames between the decoder and the walk, not the window.
 */
class FrameStore {
  private readonly kept = new Map<number, Buffer>();
  private readonly chunks: AsyncIterator<Buffer>;
  private position = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    stream: Readable,
    private readonly order: readonly number[],
    private readonly frameBytes: number,
    /** For each output frame, the source frames it was the last to use. */
    private readonly releases: ReadonlyMap<number, readonly number[]>,
  ) {
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async get(index: number): Promise<Buffer> {
    while (!this.kept.has(index)) {
      if (this.position >= this.order.length) throw new Error(`frame ${index} was not decoded`);
      this.kept.set(this.order[this.position++]!, await this.next());
    }
    return this.kept.get(index)!;
  }

  release(outputIndex: number): void {
    for (const index of this.releases.get(outputIndex) ?? []) this.kept.delete(index);
  }

  private async next(): Promise<Buffer> {
    while (this.pendingBytes < this.frameBytes) {
      const { value, done } = await this.chunks.next();
      if (done) throw new Error('the decoder ended before the last needed frame');
      this.pending.push(value);
      this.pendingBytes += value.length;
    }
    const joined = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const frame = joined.subarray(0, this.frameBytes);
    const rest = joined.subarray(this.frameBytes);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return frame;
  }
}

/** Which source frames can be forgotten after each output frame (the last source frame is kept for the seam). */
function lastUses(texture: TexturePlan, fadeSources: number[][], count: number): Map<number, number[]> {
  const last = new Map<number, number>();
  let shownIndex = 0;
  for (const [runIndex, run] of texture.runs.entries()) {
    const fades = runIndex === 0 ? [] : fadeSources[runIndex - 1]!;
    for (let frame = run.from; frame <= run.to; frame++, shownIndex++) {
      last.set(frame, shownIndex);
      const continuation = fades[frame - run.from];
      if (continuation !== undefined) last.set(continuation, shownIndex);
    }
  }
  const releases = new Map<number, number[]>();
  for (const [frame, at] of last) if (frame !== count - 1) releases.set(at, [...(releases.get(at) ?? []), frame]);
  return releases;
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
 * first samples are bent onto the source's last one, so the seam has no step. With a splice
 * plan, the source's samples from the pre-roll packet to the seam go with it.
 */
function textureSound(samples: Float32Array, texture: TexturePlan, plan: JoinPlan, windowSamples: number): { samples: Float32Array; spliceLead: Float32Array | null } {
  const fps = plan.fps;
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
  return { samples: out, spliceLead: spliceLead(samples, windowSamples, plan) };
}

/** The source's own samples from the splice's pre-roll packet to the seam (the window ends at the seam). */
export function spliceLead(windowSound: Float32Array, windowSamples: number, plan: JoinPlan): Float32Array | null {
  const splice = plan.audioSplice;
  if (!splice) return null;
  const from = windowSamples - (splice.seamSample - (splice.spliceSample - AAC_FRAME));
  if (from < 0) return null;
  return windowSound.slice(from * 2, windowSamples * 2);
}
