import path from 'node:path';
import fs from 'node:fs/promises';
import type { AspectRatio } from '../domain/task.js';
import type { MediaInfo, MediaTools } from './media-tools.js';
import { AUDIO_SAMPLE_RATE, audioEncoderArgs, containerArgs, frameSize, OUTPUT_FPS, videoEncoderArgs } from './output-format.js';

/** Below this PSNR (dB) between the last source frame and the first generated one, the seam is cross-faded. */
const SEAM_PSNR_WITHOUT_FADE = 32;
/** The cross-fade over a visible seam: a quarter of a second. */
const FADE_SECONDS = 0.25;
/** Sound always cross-fades into the new audio, short enough to keep speech and beats. */
const AUDIO_FADE_SECONDS = 0.05;
/** The generated clip's first frame repeats the source's last one (it was made from it): it is skipped. */
const FIRST_FRAME_SECONDS = 1 / OUTPUT_FPS;

/** The aspect ratio an image-to-video model should make for a source: the nearest of 16:9 and 9:16. */
export function nearestAspectRatio(video: { width: number; height: number }): AspectRatio {
  return video.width >= video.height ? '16:9' : '9:16';
}

/**
 * Any video as the joined result shows it: scaled down to fit the output size without
 * distortion, centred, padded, at the output frame rate. The bridge frame is taken through the
 * same filter, so it is exactly the last source frame of the joined video (a 30 fps source's
 * very last frame is not the last one at 24 fps).
 */
function fitFilter(aspectRatio: AspectRatio): string {
  const { width, height } = frameSize(aspectRatio, '720p');
  return (
    `scale=${width}:${height}:force_original_aspect_ratio=decrease:flags=lanczos,` +
    `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps=${OUTPUT_FPS},format=yuv420p`
  );
}

/** The last frame of the source as the joined video shows it, as a PNG: what a bridge sends to image-to-video. */
export async function lastFrame(
  media: MediaTools,
  sourcePath: string,
  aspectRatio: AspectRatio,
  workDir: string,
  signal: AbortSignal,
  /** The source's picture as the caller probed it already (saves a probe, and lets a 24 fps source be read from near its end). */
  probed?: ProbedPicture,
): Promise<Buffer> {
  const output = path.join(workDir, 'last-frame.png');
  await writeLastFrame(media, sourcePath, fitFilter(aspectRatio), output, signal, probed);
  return fs.readFile(output);
}

/** What `writeLastFrame` can use of a probe the caller already made. */
export interface ProbedPicture {
  readonly durationSeconds: number;
  readonly fps: number;
  readonly declaredFps: number;
}

/**
 * Writes the last frame of the source as the joined video shows it. A source at the output's
 * constant frame rate goes through the frame-rate filter unchanged, so only its last seconds are
 * decoded; any other is decoded whole through the same filter as the join (a seek would start
 * the frame-rate grid elsewhere and pick another frame). Every frame overwrites the file, so the
 * last one stays.
 */
async function writeLastFrame(media: MediaTools, sourcePath: string, fit: string, output: string, signal: AbortSignal, probed?: ProbedPicture): Promise<void> {
  const picture = probed ?? (await media.probe(sourcePath, { signal })).video!;
  const seconds = picture.durationSeconds;
  const onGrid = Math.abs(picture.fps - OUTPUT_FPS) < 0.001 && Math.abs(picture.declaredFps - OUTPUT_FPS) < 0.001;
  const seek = onGrid && seconds > 3 ? ['-ss', (seconds - 2).toFixed(6)] : [];
  const keep = seek.length > 0 ? 2 : seconds;
  await media.ffmpeg([...seek, '-i', sourcePath, '-an', '-vf', `${fit},trim=duration=${keep.toFixed(6)}`, '-update', '1', '-y', output], { signal });
}

export interface BridgeJoinRequest {
  readonly sourcePath: string;
  readonly source: MediaInfo;
  /** The image-to-video clip made from the source's last frame. */
  readonly clipPath: string;
  readonly clip: MediaInfo;
  readonly aspectRatio: AspectRatio;
  /** How many new seconds the result gains. */
  readonly newSeconds: number;
  readonly outputPath: string;
  readonly segmentOutputPath: string;
  readonly workDir: string;
  readonly signal: AbortSignal;
}

/** How the seam was made, for the task's details. */
export interface BridgeSeam {
  /** PSNR (dB) between the last source frame and the first generated one, at the output size. */
  readonly seamPsnr: number;
  /** Frames cross-faded at the seam (0 when the first generated frame already continues the source). */
  readonly crossfadeFrames: number;
}

/**
 * Joins a source and the image-to-video clip that continues its last frame into the whole video
 * (source + `newSeconds`) and the new seconds alone, so the seam cannot be seen: both at the
 * model's output size and frame rate (fitted, never distorted); the clip's first frame (a copy of
 * the source's last) skipped; a short cross-fade from the held last frame only when the first
 * generated frame differs; the sound cross-faded into the new audio.
 */
export async function joinBridge(media: MediaTools, request: BridgeJoinRequest): Promise<BridgeSeam> {
  const { signal, workDir } = request;
  const fit = fitFilter(request.aspectRatio);
  const sourceSeconds = request.source.video!.durationSeconds;
  const { psnr: seamPsnr, lastFramePath } = await seamDifference(media, request, fit);
  const fade = seamPsnr < SEAM_PSNR_WITHOUT_FADE ? FADE_SECONDS : 0;
  const s = sourceSeconds.toFixed(6);
  const newSeconds = request.newSeconds.toFixed(6);
  // The cross-fade: the first new frames blended from the held last source frame into the clip.
  const video =
    `[0:v]${fit},trim=duration=${s},setpts=PTS-STARTPTS[sv];` +
    `[1:v]trim=start=${FIRST_FRAME_SECONDS}:duration=${newSeconds},setpts=PTS-STARTPTS,${fit}[gv];` +
    (fade > 0
      ? `[gv]split[ghead][gtail];[ghead]trim=duration=${fade},setpts=PTS-STARTPTS[gh];[gtail]trim=start=${fade},setpts=PTS-STARTPTS[gt];` +
        `[2:v]${fit},trim=duration=${fade}[held];` +
        `[held][gh]blend=all_expr='A*(1-min((N+1)/${Math.round(fade * OUTPUT_FPS) + 1}\,1))+B*min((N+1)/${Math.round(fade * OUTPUT_FPS) + 1}\,1)'[faded];` +
        `[sv][faded][gt]concat=n=3:v=1:a=0[v]`
      : `[sv][gv]concat=n=2:v=1:a=0[v]`);
  const heldInput = fade > 0 ? ['-loop', '1', '-framerate', String(OUTPUT_FPS), '-t', String(fade), '-i', lastFramePath] : [];
  const sourceAudio = request.source.audio
    ? `[0:a]aformat=sample_rates=${AUDIO_SAMPLE_RATE}:channel_layouts=stereo,apad,atrim=0:${s},asetpts=N/SR/TB[sa];`
    : `anullsrc=r=${AUDIO_SAMPLE_RATE}:cl=stereo,atrim=0:${s}[sa];`;
  const clipAudioSeconds = (request.newSeconds + AUDIO_FADE_SECONDS).toFixed(6);
  const clipAudio = request.clip.audio
    ? `[1:a]aformat=sample_rates=${AUDIO_SAMPLE_RATE}:channel_layouts=stereo,apad,atrim=start=${FIRST_FRAME_SECONDS}:duration=${clipAudioSeconds},asetpts=N/SR/TB[ga];`
    : `anullsrc=r=${AUDIO_SAMPLE_RATE}:cl=stereo,atrim=0:${clipAudioSeconds}[ga];`;
  const audio = `${sourceAudio}${clipAudio}[sa][ga]acrossfade=d=${AUDIO_FADE_SECONDS}:c1=qsin:c2=qsin[a]`;
  // One run writes the whole video and the new seconds alone, both from the same frames and
  // sound (so the two agree frame for frame), without decoding the joined result again.
  const segmentSplit =
    `;[v]split[vwhole][vnew];[vnew]trim=start=${s},setpts=PTS-STARTPTS[vsegment]` +
    `;[a]asplit[awhole][anew];[anew]atrim=start=${s},asetpts=PTS-STARTPTS[asegment]`;
  await media.ffmpeg(
    [
      '-i', request.sourcePath, '-i', request.clipPath, ...heldInput,
      '-filter_complex', `${video};${audio}${segmentSplit}`,
      '-map', '[vwhole]', '-map', '[awhole]',
      ...videoEncoderArgs(OUTPUT_FPS), ...audioEncoderArgs, ...containerArgs, '-y', request.outputPath,
      '-map', '[vsegment]', '-map', '[asegment]',
      ...videoEncoderArgs(OUTPUT_FPS), ...audioEncoderArgs, ...containerArgs, '-y', request.segmentOutputPath,
    ],
    { signal, cwd: workDir },
  );
  return { seamPsnr: Math.round(seamPsnr * 100) / 100, crossfadeFrames: Math.round(fade * OUTPUT_FPS) };
}

/**
 * PSNR between the source's last frame and the clip's second (its first new) frame, both fitted:
 * the last frame is kept (a visible seam fades from it), the clip's frame is compared in the
 * same run that picks it.
 */
async function seamDifference(media: MediaTools, request: BridgeJoinRequest, fit: string): Promise<{ psnr: number; lastFramePath: string }> {
  const last = path.join(request.workDir, 'seam-last.png');
  await writeLastFrame(media, request.sourcePath, fit, last, request.signal, request.source.video!);
  const stats = path.join(request.workDir, 'seam-psnr.log');
  await media.ffmpeg(
    [
      '-i', last, '-i', request.clipPath,
      '-filter_complex', `[1:v]${fit},select=eq(n\\,1),setpts=PTS-STARTPTS,format=rgb24[first];[0:v]setpts=PTS-STARTPTS,format=rgb24[last];[last][first]psnr=stats_file=${path.basename(stats)}`,
      '-frames:v', '1', '-f', 'null', '-',
    ],
    { signal: request.signal, cwd: request.workDir },
  );
  const value = /psnr_avg:(\S+)/.exec(await fs.readFile(stats, 'utf8'))?.[1];
  return { psnr: value === undefined || value === 'inf' ? Infinity : Number(value), lastFramePath: last };
}
