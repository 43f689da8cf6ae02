import fs from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { MediaTools } from '../../media/media-tools.js';
import { AUDIO_SAMPLE_RATE, audioEncoderArgs, containerArgs, videoEncoderArgs } from '../../media/output-format.js';
import type { JoinPlan } from './stitcher.js';

/** The new seconds' sound, and what a splice needs before it. */
export interface SegmentSound {
  /** The new seconds' sound: interleaved stereo floats at the output sample rate. */
  readonly samples: Float32Array;
  /** For a spliced join (`plan.audioSplice`): the source's own samples from the pre-roll packet to the seam. */
  readonly spliceLead: Float32Array | null;
}

export interface SegmentEncodeRequest {
  readonly plan: JoinPlan;
  /** The picture's input arguments (raw frames on standard input, or files a filter animates). */
  readonly videoInput: readonly string[];
  /** Applied to the picture before encoding (a watermark, a camera move), or null. */
  readonly videoFilter: string | null;
  /** How many frames to encode, when the input does not end by itself. */
  readonly frames: number | null;
  readonly sound: SegmentSound | null;
  readonly workDir: string;
  readonly signal: AbortSignal;
  /** Writes the raw frames to the encoder's standard input (and ends it), when the input is `pipe:0`. */
  readonly feed?: (input: Writable, encoderFinished: Promise<void>) => Promise<void>;
}

/** What the render hands the join. */
export interface EncodedSegment {
  /** The new seconds alone, as delivered (picture and sound); also the join's second part. */
  readonly segmentPath: string;
  /** The new sound as raw floats (for a join that encodes the sound), or null without sound. */
  readonly segmentAudioPath: string | null;
  /** The sound from the splice's pre-roll packet on, encoded, or null without a splice. */
  readonly tailAudioPath: string | null;
}

/**
 * One encoder run for the new seconds: the picture once (x264), the new sound (AAC) beside it
 * in `segment.mp4`, and — for a spliced join — the splice's tail (the source's last moments and
 * the new sound, AAC) in `tail.m4a`. Both sounds are raw floats the render computed, so nothing
 * here decodes the source again.
 */
export async function encodeSegment(media: MediaTools, request: SegmentEncodeRequest): Promise<EncodedSegment> {
  const { plan, sound, workDir, signal } = request;
  const segmentPath = path.join(workDir, 'segment.mp4');
  const segmentAudioPath = sound ? path.join(workDir, 'segment-audio.f32') : null;
  const splicing = sound?.spliceLead && plan.audioSplice ? sound.spliceLead : null;
  const tailAudioPath = splicing ? path.join(workDir, 'tail.m4a') : null;
  const rawInput = (file: string) => ['-f', 'f32le', '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '2', '-i', file];
  const tailRawPath = path.join(workDir, 'tail-audio.f32');
  if (sound) await fs.writeFile(segmentAudioPath!, floatBytes(sound.samples));
  if (splicing) await fs.writeFile(tailRawPath, Buffer.concat([floatBytes(splicing), floatBytes(sound!.samples)]));
  const timescale = plan.timescale ? ['-video_track_timescale', String(plan.timescale)] : [];
  const args = [
    ...request.videoInput,
    ...(sound ? rawInput(segmentAudioPath!) : []),
    ...(splicing ? rawInput(tailRawPath) : []),
    '-filter_complex', `[0:v]${request.videoFilter ?? 'null'}[v]`,
    '-map', '[v]', ...(sound ? ['-map', '1:a', ...audioEncoderArgs] : []),
    ...videoEncoderArgs(plan.fps), ...(request.frames !== null ? ['-frames:v', String(request.frames)] : []),
    ...timescale, ...containerArgs, segmentPath,
    ...(splicing ? ['-map', '2:a', ...audioEncoderArgs, ...containerArgs, tailAudioPath!] : []),
  ];
  if (!request.feed) {
    await media.ffmpeg(args, { signal, cwd: workDir });
  } else {
    const encoder = media.ffmpegProcess(args, { signal, cwd: workDir });
    encoder.stdout.resume();
    try {
      await request.feed(encoder.stdin, encoder.finished);
    } catch (error) {
      encoder.stdin.destroy();
      await encoder.finished.catch(() => undefined);
      throw error;
    }
    await encoder.finished;
  }
  if (splicing) await fs.rm(tailRawPath, { force: true });
  return { segmentPath, segmentAudioPath, tailAudioPath };
}

function floatBytes(samples: Float32Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}
