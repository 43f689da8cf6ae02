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
  readonly reason: string;
}

/** The aspect ratio an extension keeps: the one asked for, or the source's nearest. */
export function targetAspectRatio(source: MediaInfo, requested: AspectRatio | 'auto'): AspectRatio {
  if (requested !== 'auto') return requested;
  return source.video!.width >= source.video!.height ? '16:9' : '9:16';
}

const referenceExtradata = new Map<string, string>();

/** The SPS/PPS Segue's encoder writes at this size and rate (encoded once per process and size). */
async function encoderExtradata(media: MediaTools, width: number, height: number, fps: number, workDir: string, signal: AbortSignal) {
  const key = `${width}x${height}@${fps}`;
  const known = referenceExtradata.get(key);
  if (known !== undefined) return known;
  const probe = path.join(workDir, 'encoder-reference.mp4');
  await media.ffmpeg(
    ['-f', 'lavfi', '-i', `color=c=gray:s=${width}x${height}:r=${fps}:d=0.2`, ...videoEncoderArgs(fps), probe],
    { signal },
  );
  const extradata = await media.videoExtradata(probe, signal);
  await fs.rm(probe, { force: true });
  referenceExtradata.set(key, extradata);
  return extradata;
}

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
  const [sourceExtradata, ourExtradata] = await Promise.all([
    media.videoExtradata(sourcePath, signal),
    encoderExtradata(media, video.width, video.height, fps, workDir, signal),
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
    reason: 'parameter sets match',
  };
}

export interface AssembleRequest {
  readonly sourcePath: string;
  readonly source: MediaInfo;
  readonly plan: JoinPlan;
  /** The new seconds, video only, encoded at the plan's size and rate. */
  readonly segmentVideoPath: string;
  /** The new seconds' sound (WAV), or null for a result without audio. */
  readonly segmentAudioPath: string | null;
  readonly outputPath: string;
  readonly segmentOutputPath: string;
  readonly workDir: string;
  readonly signal: AbortSignal;
}

/** Builds the whole video (source + new seconds) and the new seconds alone. */
export async function assemble(media: MediaTools, request: AssembleRequest): Promise<void> {
  const { plan, source, signal } = request;
  const hasAudio = request.segmentAudioPath !== null;
  const sourceSeconds = source.video!.durationSeconds.toFixed(6);
  const audioInputs = hasAudio ? ['-i', request.sourcePath, '-i', request.segmentAudioPath!] : [];
  // The source's sound (or silence) trimmed to its picture, then the new sound: A/V stay aligned.
  const audioGraph = (sourceIndex: number, newIndex: number) =>
    `${source.audio ? `[${sourceIndex}:a]aformat=sample_rates=${AUDIO_SAMPLE_RATE}:channel_layouts=stereo,apad,` : `anullsrc=r=${AUDIO_SAMPLE_RATE}:cl=stereo,`}` +
    `atrim=0:${sourceSeconds},asetpts=N/SR/TB[sa];[${newIndex}:a]aformat=sample_rates=${AUDIO_SAMPLE_RATE}:channel_layouts=stereo[na];` +
    `[sa][na]concat=n=2:v=0:a=1[a]`;

  if (plan.mode === 'stream_copy') {
    const sourceVideo = path.join(request.workDir, 'source-video.mp4');
    await media.ffmpeg(['-i', request.sourcePath, '-map', '0:v:0', '-c', 'copy', sourceVideo], { signal });
    const list = path.join(request.workDir, 'join.txt');
    await fs.writeFile(list, concatList([{ file: sourceVideo }, { file: request.segmentVideoPath }]));
    const timescale = plan.timescale ? ['-video_track_timescale', String(plan.timescale)] : [];
    const splice = hasAudio ? await spliceAudio(media, request) : null;
    if (splice) {
      // Sound by stream copy too: the join costs the new seconds, not the video's length. The
      // concat demuxer starts the sound at 0, priming packet included: shifting it back by that
      // packet restores the edit list that skips it, so sound and picture stay aligned.
      await media.ffmpeg(
        [
          '-f', 'concat', '-safe', '0', '-i', list,
          ...(splice.primingSeconds > 0 ? ['-itsoffset', (-splice.primingSeconds).toFixed(9)] : []),
          '-f', 'concat', '-safe', '0', '-i', splice.list,
          '-map', '0:v', '-map', '1:a', '-c', 'copy', ...timescale, ...containerArgs, request.outputPath,
        ],
        { signal },
      );
    } else {
      await media.ffmpeg(
        [
          '-f', 'concat', '-safe', '0', '-i', list, ...audioInputs,
          ...(hasAudio ? ['-filter_complex', audioGraph(1, 2), '-map', '0:v', '-map', '[a]', ...audioEncoderArgs] : ['-map', '0:v']),
          '-c:v', 'copy', ...timescale, ...containerArgs, request.outputPath,
        ],
        { signal },
      );
    }
  } else {
    await media.ffmpeg(
      [
        '-i', request.sourcePath, '-i', request.segmentVideoPath, ...audioInputs,
        '-filter_complex',
        `[0:v]${plan.sourceFilter}[sv];[1:v]setsar=1[nv];[sv][nv]concat=n=2:v=1:a=0[v]` + (hasAudio ? `;${audioGraph(2, 3)}` : ''),
        '-map', '[v]', ...(hasAudio ? ['-map', '[a]', ...audioEncoderArgs] : []),
        ...videoEncoderArgs(), ...containerArgs, request.outputPath,
      ],
      { signal },
    );
  }
  await media.ffmpeg(
    [
      '-i', request.segmentVideoPath, ...(hasAudio ? ['-i', request.segmentAudioPath!, '-map', '0:v', '-map', '1:a', ...audioEncoderArgs] : []),
      '-c:v', 'copy', '-shortest', ...containerArgs, request.segmentOutputPath,
    ],
    { signal },
  );
}

function concatList(entries: Array<{ file: string; inpoint?: number; outpoint?: number }>): string {
  return entries
    .map((entry) =>
      [
        `file '${entry.file.replaceAll("'", "'\\''")}'`,
        ...(entry.inpoint !== undefined ? [`inpoint ${entry.inpoint.toFixed(9)}`] : []),
        ...(entry.outpoint !== undefined ? [`outpoint ${entry.outpoint.toFixed(9)}`] : []),
      ].join('\n'),
    )
    .join('\n');
}

const AAC_FRAME = 1024;

/**
 * Gapless AAC splicing, so the sound of a long video is not re-encoded for every extension:
 * the source's AAC packets are copied up to a packet boundary shortly before the seam; from
 * one packet earlier, the source's last moments and the new sound are encoded afresh, and the
 * fresh stream's priming and that one pre-roll packet are dropped. At the splice the decoder
 * overlaps two packets that carry the same sound, so there is no gap and no click. Returns
 * the concat list of the two parts, or null when the source's sound is not on Segue's AAC grid.
 */
async function spliceAudio(media: MediaTools, request: AssembleRequest): Promise<{ list: string; primingSeconds: number } | null> {
  const { source, signal, workDir } = request;
  const audio = source.audio;
  if (!audio || audio.codec !== 'aac' || audio.sampleRate !== AUDIO_SAMPLE_RATE || audio.channels !== 2) return null;
  const seamSample = Math.round(source.video!.durationSeconds * AUDIO_SAMPLE_RATE);
  const splice = AAC_FRAME * Math.floor((seamSample - 2 * AAC_FRAME + AAC_FRAME) / AAC_FRAME) - AAC_FRAME;
  if (splice < 2 * AAC_FRAME) return null;
  const { first, around } = await media.audioPacketTimes(request.sourcePath, (splice - AAC_FRAME) / AUDIO_SAMPLE_RATE, signal);
  if (!around.includes(splice) || !around.includes(splice - AAC_FRAME)) return null;
  if (first !== -AAC_FRAME && first !== 0) return null;

  const sourceAudio = path.join(workDir, 'source-audio.m4a');
  await media.ffmpeg(['-i', request.sourcePath, '-map', '0:a:0', '-c', 'copy', sourceAudio], { signal });
  const tail = path.join(workDir, 'tail.m4a');
  await media.ffmpeg(
    [
      '-i', request.sourcePath, '-i', request.segmentAudioPath!,
      '-filter_complex',
      `[0:a]atrim=start_sample=${splice - AAC_FRAME}:end_sample=${seamSample},asetpts=N/SR/TB[before];` +
        `[1:a]aformat=sample_rates=${AUDIO_SAMPLE_RATE}:channel_layouts=stereo[after];[before][after]concat=n=2:v=0:a=1[a]`,
      '-map', '[a]', ...audioEncoderArgs, tail,
    ],
    { signal },
  );
  const list = path.join(workDir, 'sound.txt');
  await fs.writeFile(
    list,
    concatList([
      { file: sourceAudio, outpoint: splice / AUDIO_SAMPLE_RATE },
      { file: tail, inpoint: AAC_FRAME / AUDIO_SAMPLE_RATE },
    ]),
  );
  return { list, primingSeconds: -first / AUDIO_SAMPLE_RATE };
}
