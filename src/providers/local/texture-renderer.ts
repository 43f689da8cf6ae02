import path from 'node:path';
import { EXTENSION_SECONDS } from '../../domain/task.js';
import type { MediaInfo, MediaTools } from '../../media/media-tools.js';
import { AUDIO_SAMPLE_RATE } from '../../media/output-format.js';
import { encodeSegment, type EncodedSegment } from './segment-encoder.js';
import { AAC_FRAME, type JoinPlan } from './stitcher.js';
import { ANALYSED_SECONDS, type AnalysisWindow, analyseWindow, analysisKey, type TextureAnalysisCache } from './texture-analysis.js';
import { planVideoTexture, type TexturePlan } from './video-texture.js';
import { readSeamPsnr, walkGraph } from './walk-graph.js';

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
  /** The window's sound (`readWindowSound`, started beside the join's plan). */
  readonly windowSound: Promise<Float32Array>;
  readonly watermark: string | null;
  /** Kept analyses, and the source's blob key to find its own (absent: analysed afresh, not kept). */
  readonly analysisCache?: TextureAnalysisCache | undefined;
  readonly sourceKey?: string | undefined;
}

/**
 * The picture-making half of Video Textures: the window's analysis (kept per source), the walk
 * planned from it, then the new seconds built from the source's own frames (cross-fading a few
 * frames at each jump) and its own sound (following the same jumps with short cross-fades).
 * The encoder's own process decodes the window and walks it (`walkGraph`): no full-size frame
 * passes through this process or touches the disk. Returns the reason instead when the source
 * cannot be looped.
 */
export async function renderTextureSegment(media: MediaTools, request: TextureRequest, workDir: string, signal: AbortSignal): Promise<TextureSegment | { fallback: string }> {
  const { plan, source } = request;
  const sourceSeconds = source.video!.durationSeconds;
  const windowStart = windowStartSeconds(sourceSeconds);
  const framesInWindow = Math.round((sourceSeconds - windowStart) * plan.fps);
  const window: AnalysisWindow = {
    startSeconds: windowStart,
    maxFrames: framesInWindow + 2 * plan.fps,
    sourceFilter: plan.sourceFilter,
    width: plan.width,
    height: plan.height,
    fps: plan.fps,
  };
  const windowStartSample = Math.round(windowStart * AUDIO_SAMPLE_RATE);
  const seamSample = Math.round(sourceSeconds * AUDIO_SAMPLE_RATE);
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

  const sound = request.withAudio ? textureSound(await request.windowSound, texture, plan, seamSample - windowStartSample) : null;
  const seamStatsFile = 'seam-psnr.log';
  const encoded = await encodeSegment(media, {
    plan,
    videoInput: ['-ss', windowStart.toFixed(6), '-i', request.sourcePath],
    videoGraph: walkGraph({
      texture, fadeSources: fadeContinuations(texture, count), count, fps: plan.fps,
      sourceFilter: plan.sourceFilter, watermark: request.watermark, seamStatsFile,
    }),
    frames: null,
    sound,
    workDir,
    signal,
  });
  const seamPsnr = await readSeamPsnr(path.join(workDir, seamStatsFile));
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

/** Where the analysed window starts: the source's last `ANALYSED_SECONDS`. */
function windowStartSeconds(sourceSeconds: number): number {
  return Math.max(0, sourceSeconds - ANALYSED_SECONDS);
}

/**
 * The window's sound (interleaved stereo floats, silence for a source without sound): small and
 * quick, read beside the join's plan. Rejections are left for the render to meet.
 */
export function readWindowSound(media: MediaTools, sourcePath: string, source: MediaInfo, withAudio: boolean, signal: AbortSignal): Promise<Float32Array> {
  const sourceSeconds = source.video!.durationSeconds;
  const from = Math.round(windowStartSeconds(sourceSeconds) * AUDIO_SAMPLE_RATE);
  const count = Math.round(sourceSeconds * AUDIO_SAMPLE_RATE) - from;
  const sound =
    withAudio && source.audio
      ? media.audioSamples(sourcePath, { from, count, sampleRate: AUDIO_SAMPLE_RATE }, signal)
      : Promise.resolve(new Float32Array(count * 2));
  sound.catch(() => undefined);
  return sound;
}

/** For each jump after the first: the frames the old stretch would have shown next, to fade from. */
function fadeContinuations(texture: TexturePlan, count: number): number[][] {
  return texture.runs.slice(0, -1).map((run) =>
    Array.from({ length: texture.crossFadeFrames }, (_, k) => run.to + 1 + k).filter((frame) => frame < count),
  );
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
    const length = Math.max(0, Math.min(Math.min(sampleOf(run.to + 1), windowSamples) - from, total - written));
    out.set(samples.subarray(from * 2, (from + length) * 2), written * 2);
    if (index > 0) {
      const previousEnd = Math.min(sampleOf(texture.runs[index - 1]!.to + 1), windowSamples);
      for (let k = 0; k < Math.min(fade, length, windowSamples - previousEnd); k++) {
        const t = (k + 1) / (fade + 1);
        for (let channel = 0; channel < 2; channel++) {
          out[(written + k) * 2 + channel] =
            samples[(from + k) * 2 + channel]! * Math.sin((t * Math.PI) / 2) + samples[(previousEnd + k) * 2 + channel]! * Math.cos((t * Math.PI) / 2);
        }
      }
    }
    written += length;
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
