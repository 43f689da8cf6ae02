import fs from 'node:fs/promises';
import path from 'node:path';
import type { MediaTools } from '../../media/media-tools.js';
import { AUDIO_SAMPLE_RATE, audioEncoderArgs, containerArgs, videoEncoderArgs } from '../../media/output-format.js';
import { AAC_FRAME, type JoinPlan } from './stitcher.js';

/** The new seconds' sound, and what a splice needs before it. */
export interface SegmentSound {
  /** The new seconds' sound: interleaved stereo floats at the output sample rate. */
  readonly samples: Float32Array;
  /** For a spliced join (`plan.audioSplice`): the source's own samples from the pre-roll packet to the seam. */
  readonly spliceLead: Float32Array | null;
}

export interface SegmentEncodeRequest {
  readonly plan: JoinPlan;
  /** The picture's input arguments (the source's window to walk, or a still a filter animates). */
  readonly videoInput: readonly string[];
  /** The filter graph from input 0 to `[v]`, the picture to encode (the walk, a camera move). */
  readonly videoGraph: string;
  /** How many frames to encode, when the input does not end by itself. */
  readonly frames: number | null;
  readonly sound: SegmentSound | null;
  readonly workDir: string;
  readonly signal: AbortSignal;
}

/** What the render hands the join. */
export interface EncodedSegment {
  /** The new seconds alone, as delivered (picture and sound); also the join's second part. */
  readonly segmentPath: string;
  /** The new sound as raw floats (for a join that encodes the sound), or null without sound. */
  readonly segmentAudioPath: string | null;
  /** The new seconds' sound carries the splice's lead (see `AudioSplice`), for a copied join. */
  readonly soundSpliced: boolean;
}

/**
 * One encoder run for the new seconds: the picture once (x264) and their sound (AAC) in
 * `segment.mp4`. For a spliced join the sound is encoded from the splice's pre-roll packet on
 * (the source's last moments, then the new sound), placed before the picture's start so that
 * the new sound starts with the picture: an edit list hides the lead when the file is played
 * alone, and the join takes it from the splice on. The sounds are raw floats the render
 * computed, so nothing here decodes the source again.
 */
export async function encodeSegment(media: MediaTools, request: SegmentEncodeRequest): Promise<EncodedSegment> {
  const { plan, sound, workDir, signal } = request;
  const segmentPath = path.join(workDir, 'segment.mp4');
  const splice = sound?.spliceLead && plan.audioSplice ? plan.audioSplice : null;
  // The new sound as raw floats stays beside the segment (a join that encodes the sound reads
  // it), written while the encoder runs; the encoder reads its sound from its standard input.
  const segmentAudioPath = sound ? path.join(workDir, 'segment-audio.f32') : null;
  const kept = sound ? fs.writeFile(segmentAudioPath!, floatBytes(sound.samples)) : Promise.resolve();
  kept.catch(() => undefined);
  // The lead starts one packet before the splice, which lies this far before the seam.
  const leadSeconds = splice ? (splice.seamSample - splice.spliceSample + AAC_FRAME) / AUDIO_SAMPLE_RATE : 0;
  const soundInput = sound
    ? [...(splice ? ['-itsoffset', (-leadSeconds).toFixed(9)] : []), '-f', 'f32le', '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '2', '-i', 'pipe:0']
    : [];
  const soundBytes = sound ? (splice ? Buffer.concat([floatBytes(sound.spliceLead!), floatBytes(sound.samples)]) : floatBytes(sound.samples)) : undefined;
  const timescale = plan.timescale ? ['-video_track_timescale', String(plan.timescale)] : [];
  const args = [
    ...request.videoInput,
    ...soundInput,
    '-filter_complex', request.videoGraph,
    '-map', '[v]', ...(sound ? ['-map', '1:a', ...audioEncoderArgs] : []),
    ...videoEncoderArgs(plan.fps, plan.encoder), ...(request.frames !== null ? ['-frames:v', String(request.frames)] : []),
    ...timescale, ...containerArgs, segmentPath,
  ];
  await media.ffmpeg(args, { signal, cwd: workDir, ...(soundBytes ? { input: soundBytes } : {}) });
  await kept;
  return { segmentPath, segmentAudioPath, soundSpliced: splice !== null };
}

function floatBytes(samples: Float32Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}
