import fs from 'node:fs/promises';
import path from 'node:path';
import type { AspectRatio } from '../../domain/task.js';
import type { MediaInfo, MediaTools } from '../../media/media-tools.js';
import { AUDIO_SAMPLE_RATE, audioEncoderArgs, containerArgs, frameSize, OUTPUT_FPS, videoEncoderArgs } from '../../media/output-format.js';

/**
 * How a source and its new seconds become one video. `stream_copy` keeps every source frame
 * bit-identical and costs only the new seconds; it needs a source whose H.264 parameter sets
 * are exactly what Segue's encoder writes at that size (true of Segue's own results, so chains
 * of extensions never re-encode). Anything else is re-encoded to the 720p output format,
 * scaled and padded, never distorted.
 */
export interface JoinPlan {
  readonly mode: 'stream_copy' | 're_encode';
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Turns a source frame into a result frame (scale, pad, frame rate); `null` when copying. */
  readonly sourceFilter: string | null;
  /** The MP4 track timescale to keep when copying. */
  readonly timescale: number | null;
  /** Where the source's sound can be cut and copied (stream copy joins of Segue's AAC), or null. */
  readonly audioSplice: AudioSplice | null;
  readonly reason: string;
}

/**
 * Gapless AAC splicing, so the sound of a long video is not re-encoded for every extension:
 * the source's AAC packets are copied up to `spliceSample`, a packet boundary shortly before the
 * seam; the sound from one packet earlier (`spliceSample - AAC_FRAME`) to the seam, then the
 * new sound, is encoded afresh with the new seconds, and the join drops the fresh stream's
 * priming and that one pre-roll packet. At the splice the decoder overlaps two packets that
 * carry the same sound, so there is no gap and no click.
 */
export interface AudioSplice {
  readonly spliceSample: number;
  /** The first sample after the source's picture ends (the sound is trimmed there). */
  readonly seamSample: number;
}

export const AAC_FRAME = 1024;

/** The aspect ratio an extension keeps: the one asked for, or the source's nearest. */
export function targetAspectRatio(source: MediaInfo, requested: AspectRatio | 'auto'): AspectRatio {
  if (requested !== 'auto') return requested;
  return source.video!.width >= source.video!.height ? '16:9' : '9:16';
}

const referenceExtradata = new Map<string, Promise<string>>();

/** The SPS/PPS Segue's encoder writes at this size and rate (encoded once per process and size). */
function encoderExtradata(media: MediaTools, width: number, height: number, fps: number, workDir: string, signal: AbortSignal): Promise<string> {
  const key = `${width}x${height}@${fps}`;
  const known = referenceExtradata.get(key);
  if (known !== undefined) return known;
  const made = (async () => {
    const probe = path.join(workDir, `encoder-reference-${key}.mp4`);
    await media.ffmpeg(['-f', 'lavfi', '-i', `color=c=gray:s=${width}x${height}:r=${fps}:d=0.2`, ...videoEncoderArgs(fps), probe], { signal });
    const extradata = (await media.probe(probe, { signal })).video?.extradata ?? '';
    await fs.rm(probe, { force: true });
    return extradata;
  })();
  referenceExtradata.set(key, made);
  made.catch(() => referenceExtradata.delete(key));
  return made;
}

/**
 * Decides how the source and its new seconds become one video, from what the probe already
 * read (the parameter sets come with it); the only further look is at the sound's packets
 * around the seam, for a stream-copy join that can splice the sound too.
 */
export async function planJoin(
  media: MediaTools,
  sourcePath: string,
  source: MediaInfo,
  aspectRatio: AspectRatio,
  workDir: string,
  signal: AbortSignal,
): Promise<JoinPlan> {
  const video = source.video!;
  const target = frameSize(aspectRatio, '720p');
  const reEncode = (reason: string): JoinPlan => ({
    mode: 're_encode',
    ...target,
    fps: OUTPUT_FPS,
    sourceFilter:
      `scale=${target.width}:${target.height}:force_original_aspect_ratio=decrease:flags=lanczos,` +
      `pad=${target.width}:${target.height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps=${OUTPUT_FPS},format=yuv420p`,
    timescale: null,
    audioSplice: null,
    reason,
  });
  const wanted = target.width / target.height;
  if (Math.abs(video.width / video.height - wanted) / wanted > 0.01) return reEncode(`aspect ratio ${video.width}×${video.height} is not ${aspectRatio}`);
  if (video.codec !== 'h264' || video.pixelFormat !== 'yuv420p') return reEncode(`${video.codec}/${video.pixelFormat} is not H.264 4:2:0`);
  if (!['1:1', '0:1', 'N/A'].includes(video.sampleAspectRatio)) return reEncode(`non-square pixels (${video.sampleAspectRatio})`);
  if (Math.abs(video.fps - video.declaredFps) > 0.01 || video.fps < 10 || video.fps > 60) return reEncode('variable or unusual frame rate');
  if (video.width % 2 || video.height % 2) return reEncode('odd frame size');
  if (video.rotated) return reEncode('stored rotated');
  if (source.audio && source.audio.codec !== 'aac') return reEncode(`audio is ${source.audio.codec}`);
  const fps = Math.round(video.fps * 1000) / 1000;
  const [sourceExtradata, ourExtradata, audioSplice] = await Promise.all([
    video.extradata ?? media.videoExtradata(sourcePath, signal),
    encoderExtradata(media, video.width, video.height, fps, workDir, signal),
    planAudioSplice(media, sourcePath, source, signal),
  ]);
  if (sourceExtradata !== ourExtradata) return reEncode('H.264 parameter sets differ from the encoder\'s');
  const timescale = Number(video.timeBase.split('/')[1]);
  return {
    mode: 'stream_copy',
    width: video.width,
    height: video.height,
    fps,
    sourceFilter: null,
    timescale: Number.isFinite(timescale) && timescale > 0 ? timescale : null,
    audioSplice,
    reason: 'parameter sets match',
  };
}

/** Where the source's sound can be spliced, or null when it is not on Segue's AAC grid. */
async function planAudioSplice(media: MediaTools, sourcePath: string, source: MediaInfo, signal: AbortSignal): Promise<AudioSplice | null> {
  const audio = source.audio;
  if (!audio || audio.codec !== 'aac' || audio.sampleRate !== AUDIO_SAMPLE_RATE || audio.channels !== 2) return null;
  const seamSample = Math.round(source.video!.durationSeconds * AUDIO_SAMPLE_RATE);
  const spliceSample = AAC_FRAME * Math.floor((seamSample - 2 * AAC_FRAME + AAC_FRAME) / AAC_FRAME) - AAC_FRAME;
  if (spliceSample < 2 * AAC_FRAME) return null;
  const { first, around } = await media.audioPacketTimes(sourcePath, (spliceSample - AAC_FRAME) / AUDIO_SAMPLE_RATE, signal);
  if (!around.includes(spliceSample) || !around.includes(spliceSample - AAC_FRAME)) return null;
  if (first !== -AAC_FRAME && first !== 0) return null;
  return { spliceSample, seamSample };
}

/**
 * The source's parts a stream-copy join reads, made while the new seconds render: the concat
 * demuxer ends a file at the first packet of any stream past its out point, so a cut of one
 * stream needs a file holding that stream alone.
 */
export interface JoinParts {
  /** The source's picture to its own end: the source itself when its sound does not outlast it. */
  readonly picturePath: string;
  /** The source's sound alone, to be cut at the splice (when the plan splices), or null. */
  readonly soundPath: string | null;
}

/** Extracts (by stream copy, in one run) what a stream-copy join of this source needs. */
export async function prepareJoinParts(media: MediaTools, sourcePath: string, source: MediaInfo, plan: JoinPlan, workDir: string, signal: AbortSignal): Promise<JoinParts> {
  if (plan.mode !== 'stream_copy') return { picturePath: sourcePath, soundPath: null };
  const pictureOutlasted = source.durationSeconds > source.video!.durationSeconds + 0.001;
  const picturePath = pictureOutlasted ? path.join(workDir, 'source-video.mp4') : sourcePath;
  const soundPath = plan.audioSplice ? path.join(workDir, 'source-audio.m4a') : null;
  const outputs = [
    ...(pictureOutlasted ? ['-map', '0:v:0', '-c', 'copy', picturePath] : []),
    ...(soundPath ? ['-map', '0:a:0', '-c', 'copy', soundPath] : []),
  ];
  if (outputs.length > 0) await media.ffmpeg(['-i', sourcePath, ...outputs], { signal });
  return { picturePath, soundPath };
}

export interface AssembleRequest {
  readonly sourcePath: string;
  readonly source: MediaInfo;
  readonly plan: JoinPlan;
  /** From `prepareJoinParts` (stream-copy joins). */
  readonly parts: JoinParts;
  /** The new seconds alone as delivered: video at the plan's size and rate, with their sound if any. */
  readonly segmentPath: string;
  /** The new sound as raw stereo 32-bit float samples, or null for a result without sound. */
  readonly segmentAudioPath: string | null;
  /** The sound from the splice's pre-roll packet on, encoded (`plan.audioSplice`), or null. */
  readonly tailAudioPath: string | null;
  readonly outputPath: string;
  readonly workDir: string;
  readonly signal: AbortSignal;
}

/**
 * Builds the whole video (source + new seconds) in one ffmpeg run. A stream-copy join with a
 * spliced sound copies every packet (the work of a plain `-f concat -c copy`); without a splice
 * the sound is encoded for the whole length; a re-encode join re-encodes everything.
 */
export async function assemble(media: MediaTools, request: AssembleRequest): Promise<void> {
  const { plan, source, signal } = request;
  const hasAudio = request.segmentAudioPath !== null;
  const sourceSeconds = source.video!.durationSeconds;
  const newAudioInput = hasAudio ? ['-f', 'f32le', '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '2', '-i', request.segmentAudioPath!] : [];
  // The source's sound (or silence) trimmed to its picture, then the new sound: A/V stay aligned.
  const audioGraph = (sourceIndex: number, newIndex: number) =>
    `${source.audio ? `[${sourceIndex}:a]aformat=sample_rates=${AUDIO_SAMPLE_RATE}:channel_layouts=stereo,apad,` : `anullsrc=r=${AUDIO_SAMPLE_RATE}:cl=stereo,`}` +
    `atrim=0:${sourceSeconds.toFixed(6)},asetpts=N/SR/TB[sa];[${newIndex}:a]aformat=sample_rates=${AUDIO_SAMPLE_RATE}:channel_layouts=stereo[na];` +
    `[sa][na]concat=n=2:v=0:a=1[a]`;

  if (plan.mode === 're_encode') {
    await media.ffmpeg(
      [
        '-i', request.sourcePath, '-i', request.segmentPath, ...(hasAudio ? ['-i', request.sourcePath, ...newAudioInput] : []),
        '-filter_complex',
        `[0:v]${plan.sourceFilter}[sv];[1:v]setsar=1[nv];[sv][nv]concat=n=2:v=1:a=0[v]` + (hasAudio ? `;${audioGraph(2, 3)}` : ''),
        '-map', '[v]', ...(hasAudio ? ['-map', '[a]', ...audioEncoderArgs] : []),
        ...videoEncoderArgs(), ...containerArgs, request.outputPath,
      ],
      { signal },
    );
    return;
  }
  // The source's picture, then the new seconds'. Each file's timeline is taken from 0 and the
  // source lasts as long as its picture, whatever its sound's priming makes of the container's
  // start and length; -copyts keeps those timelines as the lists give them.
  const pictureList = path.join(request.workDir, 'join.txt');
  await fs.writeFile(
    pictureList,
    concatList([
      { file: request.parts.picturePath, inpoint: 0, duration: sourceSeconds },
      { file: request.segmentPath, inpoint: 0 },
    ]),
  );
  const timescale = plan.timescale ? ['-video_track_timescale', String(plan.timescale)] : [];
  const splice = hasAudio && plan.audioSplice && request.tailAudioPath && request.parts.soundPath ? plan.audioSplice : null;
  if (splice) {
    // Sound by stream copy too: the join costs the copy, not an encode. Under -copyts the
    // source's priming packet keeps its place before 0, so sound and picture stay aligned.
    const soundList = path.join(request.workDir, 'sound.txt');
    await fs.writeFile(
      soundList,
      concatList([
        { file: request.parts.soundPath!, outpoint: splice.spliceSample / AUDIO_SAMPLE_RATE },
        { file: request.tailAudioPath!, inpoint: AAC_FRAME / AUDIO_SAMPLE_RATE },
      ]),
    );
    await media.ffmpeg(
      [
        '-copyts', '-f', 'concat', '-safe', '0', '-i', pictureList,
        '-f', 'concat', '-safe', '0', '-i', soundList,
        '-map', '0:v:0', '-map', '1:a:0', '-c', 'copy', ...timescale, ...containerArgs, request.outputPath,
      ],
      { signal },
    );
    return;
  }
  await media.ffmpeg(
    [
      '-copyts', '-f', 'concat', '-safe', '0', '-i', pictureList, ...(hasAudio ? ['-i', request.sourcePath, ...newAudioInput] : []),
      ...(hasAudio ? ['-filter_complex', audioGraph(1, 2), '-map', '0:v:0', '-map', '[a]', ...audioEncoderArgs] : ['-map', '0:v:0']),
      '-c:v', 'copy', ...timescale, ...containerArgs, request.outputPath,
    ],
    { signal },
  );
}

function concatList(entries: Array<{ file: string; inpoint?: number; outpoint?: number; duration?: number }>): string {
  return entries
    .map((entry) =>
      [
        `file '${entry.file.replaceAll("'", "'\\''")}'`,
        ...(entry.inpoint !== undefined ? [`inpoint ${entry.inpoint.toFixed(9)}`] : []),
        ...(entry.outpoint !== undefined ? [`outpoint ${entry.outpoint.toFixed(9)}`] : []),
        ...(entry.duration !== undefined ? [`duration ${entry.duration.toFixed(9)}`] : []),
      ].join('\n'),
    )
    .join('\n');
}
