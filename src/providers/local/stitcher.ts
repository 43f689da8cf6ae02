import fs from 'node:fs/promises';
import path from 'node:path';
import type { AspectRatio } from '../../domain/task.js';
import type { MediaInfo, MediaTools } from '../../media/media-tools.js';
import { AUDIO_SAMPLE_RATE, audioEncoderArgs, containerArgs, CURRENT_ENCODER, ENCODER_SETTINGS, type EncoderSettings, frameSize, OUTPUT_FPS, videoEncoderArgs } from '../../media/output-format.js';

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
  /** The x264 settings the new seconds are encoded with: the source's own when copying. */
  readonly encoder: EncoderSettings;
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
 * new sound, is encoded afresh as the new seconds' sound, placed so that its packet starting at
 * `spliceSample` falls on the join's splice (the new seconds' file hides what lies before the
 * seam behind an edit list), and the join drops the fresh stream's priming and its pre-roll
 * packet. At the splice the decoder overlaps two packets that carry the same sound, so there is
 * no gap and no click.
 *
 * The join reads both files through one concat input: the source is cut at the splice (the
 * concat demuxer ends a file at the first packet of any stream whose decoding time is past its
 * out point), which keeps its whole picture only when every video packet comes before that
 * point, in time and in the file. The plan checks exactly that (true of Segue's 24 fps results,
 * whose B-frames' decoding times run three frames ahead of the seam).
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

/** The SPS/PPS Segue's encoder writes with these settings at this size and rate (encoded once per process). */
function encoderExtradata(media: MediaTools, settings: EncoderSettings, width: number, height: number, fps: number, workDir: string, signal: AbortSignal): Promise<string> {
  const key = `${settings}-${width}x${height}@${fps}`;
  const known = referenceExtradata.get(key);
  if (known !== undefined) return known;
  const made = (async () => {
    const probe = path.join(workDir, `encoder-reference-${key}.mp4`);
    await media.ffmpeg(['-f', 'lavfi', '-i', `color=c=gray:s=${width}x${height}:r=${fps}:d=0.2`, ...videoEncoderArgs(fps, settings), probe], { signal });
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
 * read (the parameter sets come with it) and the packets of the source's last second, for a
 * stream-copy join that can splice the sound too. A source made with any of Segue's encoder
 * settings (now or earlier) joins by stream copy, its new seconds encoded with those settings.
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
    encoder: CURRENT_ENCODER,
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
  const settings = Object.keys(ENCODER_SETTINGS) as EncoderSettings[];
  const [sourceExtradata, audioSplice, ...ours] = await Promise.all([
    video.extradata ?? media.videoExtradata(sourcePath, signal),
    planAudioSplice(media, sourcePath, source, signal),
    ...settings.map((name) => encoderExtradata(media, name, video.width, video.height, fps, workDir, signal)),
  ]);
  const encoder = settings.find((_, index) => ours[index] === sourceExtradata);
  if (!encoder) return reEncode('H.264 parameter sets differ from the encoder\'s');
  const timescale = Number(video.timeBase.split('/')[1]);
  return {
    mode: 'stream_copy',
    width: video.width,
    height: video.height,
    fps,
    sourceFilter: null,
    encoder,
    timescale: Number.isFinite(timescale) && timescale > 0 ? timescale : null,
    audioSplice,
    reason: 'parameter sets match',
  };
}

/**
 * How far before the seam the splice lies (samples), so that the concat demuxer starts the new
 * seconds' sound at the splice's packet. Reading the new seconds' file from its start, it seeks
 * the picture to its first packet and the sound to that packet's decoding time (`videoLead`
 * samples before 0: B-frames) — counted from the sound's presentation start rounded up to its
 * packet grid (libavformat's mov.c, `mov_read_seek` with its edit-list index) — and takes the
 * sound's packet at or before that time. That must be the packet at the splice: the one after
 * the priming and the pre-roll. The splice is on the source's packet grid (a multiple of 1024
 * samples), so the distance's remainder is the seam's. Checked with the bundled ffmpeg for every
 * remainder's edge cases; the join is verified afterwards all the same (`verifySplicedSound`).
 */
export function spliceDistance(seamSample: number, videoLead: number): number {
  const remainder = seamSample % AAC_FRAME;
  const packets = remainder === 0 ? Math.ceil(videoLead / AAC_FRAME) : 1 + Math.ceil((videoLead - 2 * remainder) / AAC_FRAME);
  return AAC_FRAME * packets + remainder;
}

/** Where the source's sound can be spliced, or null when it is not on Segue's AAC grid or the cut would clip the picture. */
async function planAudioSplice(media: MediaTools, sourcePath: string, source: MediaInfo, signal: AbortSignal): Promise<AudioSplice | null> {
  const audio = source.audio;
  const video = source.video!;
  if (!audio || audio.codec !== 'aac' || audio.sampleRate !== AUDIO_SAMPLE_RATE || audio.channels !== 2) return null;
  // The join reads the source from its start (a seek could drop its sound's priming): its timeline must start at 0.
  if (video.durationSeconds < 2 || source.startSeconds !== 0) return null;
  const [numerator, denominator] = video.timeBase.split('/').map(Number);
  if (!numerator || !denominator) return null;
  const videoSamples = (ticks: number) => (ticks * numerator * AUDIO_SAMPLE_RATE) / denominator;
  const seamSample = Math.round(video.durationSeconds * AUDIO_SAMPLE_RATE);
  const { first, end } = await media.packetsNearEnd(sourcePath, seamSample / AUDIO_SAMPLE_RATE - 1, signal);
  const firstVideo = first.find((packet) => packet.kind === 'video');
  const firstAudio = first.find((packet) => packet.kind === 'audio');
  if (!firstVideo || !firstAudio || Number.isNaN(firstVideo.dts) || firstVideo.dts > 0) return null;
  if (firstAudio.pts !== -AAC_FRAME && firstAudio.pts !== 0) return null;
  const spliceSample = seamSample - spliceDistance(seamSample, -Math.round(videoSamples(firstVideo.dts)));
  // The source's packet before the splice was encoded with its own sound after it (at least two
  // packets of it: the splice is seamless only then), and the splice is not absurdly early.
  const distance = seamSample - spliceSample;
  if (spliceSample < 2 * AAC_FRAME || distance < 2 * AAC_FRAME || distance > AUDIO_SAMPLE_RATE / 2) return null;
  if (end.some((packet) => packet.kind !== 'audio' && packet.kind !== 'video')) return null;
  const around = end.filter((packet) => packet.kind === 'audio').map((packet) => packet.pts);
  // On the source's packet grid: a packet ends at the splice (the source's sound may end there).
  if (!around.includes(spliceSample - AAC_FRAME)) return null;
  // Where the concat demuxer will end the source (the first packet, in file order, whose decoding
  // time is at or past the splice): no video packet may lie there or after.
  const cut = end.findIndex(
    (packet) => Number.isNaN(packet.dts) || (packet.kind === 'video' ? videoSamples(packet.dts) : packet.dts) >= spliceSample,
  );
  if (cut >= 0 && end.slice(cut).some((packet) => packet.kind === 'video')) return null;
  return { spliceSample, seamSample };
}

/**
 * The source's picture for a stream-copy join that does not splice the sound: the source itself,
 * or — when its sound outlasts its picture — its picture alone (stream copy).
 */
async function sourcePicture(media: MediaTools, sourcePath: string, source: MediaInfo, workDir: string, signal: AbortSignal): Promise<string> {
  if (source.durationSeconds <= source.video!.durationSeconds + 0.001) return sourcePath;
  const picturePath = path.join(workDir, 'source-video.mp4');
  await media.ffmpeg(['-i', sourcePath, '-map', '0:v:0', '-c', 'copy', picturePath], { signal });
  return picturePath;
}

export interface AssembleRequest {
  readonly sourcePath: string;
  readonly source: MediaInfo;
  readonly plan: JoinPlan;
  /** The new seconds alone as delivered: video at the plan's size and rate, with their sound if any. */
  readonly segmentPath: string;
  /** The new sound as raw stereo 32-bit float samples (read when the join encodes the sound), or null for a result without sound. */
  readonly segmentAudioPath: string | null;
  /** The new seconds' sound carries the splice's lead (`plan.audioSplice`): the join copies it. */
  readonly soundSpliced: boolean;
  readonly outputPath: string;
  readonly workDir: string;
  readonly signal: AbortSignal;
}

/** How the sound was joined: copied and spliced, encoded for the whole length, or none at all. */
export type AudioJoin = 'splice' | 're_encode' | 'none';

/** The joined video: how its sound was joined. */
export interface Joined {
  readonly audioJoin: AudioJoin;
}

/**
 * Builds the whole video (source + new seconds) in one ffmpeg run. A stream-copy join with a
 * spliced sound copies every packet from one concat input (the work of a plain
 * `-f concat -c copy`), the same run listing the sound's packets so that the splice is checked
 * without reading the result again; without a splice the sound is encoded for the whole length;
 * a re-encode join re-encodes everything. Says how the sound was joined.
 */
export async function assemble(media: MediaTools, request: AssembleRequest): Promise<Joined> {
  const { plan, source, signal } = request;
  const sourceSeconds = source.video!.durationSeconds;
  const timescale = plan.timescale ? ['-video_track_timescale', String(plan.timescale)] : [];
  const splice = plan.mode === 'stream_copy' && request.soundSpliced ? plan.audioSplice : null;
  if (splice && (await joinSpliced(media, request, splice, timescale))) return { audioJoin: 'splice' };
  const hasAudio = request.segmentAudioPath !== null;
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
    return { audioJoin: hasAudio ? 're_encode' : 'none' };
  }
  // The source's picture, then the new seconds'. Each file's timeline is taken from 0 and the
  // source lasts as long as its picture, whatever its sound's priming makes of the container's
  // start and length; -copyts keeps those timelines as the lists give them. The sound is encoded
  // for the whole length.
  const pictureList = path.join(request.workDir, 'join.txt');
  await fs.writeFile(
    pictureList,
    concatList([
      { file: await sourcePicture(media, request.sourcePath, source, request.workDir, signal), inpoint: 0, duration: sourceSeconds },
      { file: request.segmentPath, inpoint: 0 },
    ]),
  );
  await media.ffmpeg(
    [
      '-copyts', '-f', 'concat', '-safe', '0', '-i', pictureList, ...(hasAudio ? ['-i', request.sourcePath, ...newAudioInput] : []),
      ...(hasAudio ? ['-filter_complex', audioGraph(1, 2), '-map', '0:v:0', '-map', '[a]', ...audioEncoderArgs] : ['-map', '0:v:0']),
      '-c:v', 'copy', ...timescale, ...containerArgs, request.outputPath,
    ],
    { signal },
  );
  return { audioJoin: hasAudio ? 're_encode' : 'none' };
}

/**
 * The stream-copy join with the sound spliced: one concat input, both streams copied — the
 * source to the splice (its whole picture, see AudioSplice), then the new seconds from the
 * splice's packet on: their picture starts at the seam, their sound's priming and pre-roll stay
 * before the in point. The source is read from its start, without a seek (which would drop its
 * sound's priming packet), and under -copyts that packet keeps its place before 0, so sound and
 * picture stay aligned. The same run lists the sound's packets as it copies them (a second,
 * `framecrc` output: their timestamps are those written to the file): if the packets across the
 * splice do not follow each other exactly (another ffmpeg seeking otherwise), the join is redone
 * with the sound encoded, and this answers false.
 */
async function joinSpliced(media: MediaTools, request: AssembleRequest, splice: AudioSplice, timescale: string[]): Promise<boolean> {
  const list = path.join(request.workDir, 'join.txt');
  const soundPackets = path.join(request.workDir, 'join-sound.framecrc');
  await fs.writeFile(
    list,
    concatList([
      { file: request.sourcePath, outpoint: splice.spliceSample / AUDIO_SAMPLE_RATE },
      { file: request.segmentPath, inpoint: -(splice.seamSample - splice.spliceSample) / AUDIO_SAMPLE_RATE },
    ]),
  );
  await media.ffmpeg(
    [
      '-copyts', '-f', 'concat', '-safe', '0', '-i', list, '-map', '0:v:0', '-map', '0:a:0', '-c', 'copy', ...timescale, ...containerArgs, request.outputPath,
      '-map', '0:a:0', '-c', 'copy', '-f', 'framecrc', soundPackets,
    ],
    { signal: request.signal },
  );
  const from = splice.spliceSample - 3 * AAC_FRAME;
  const starts = await soundPacketStarts(soundPackets);
  const across = starts.filter((start) => start >= from && start <= splice.spliceSample + 2 * AAC_FRAME);
  return across.length === 6 && across.every((start, index) => start === from + index * AAC_FRAME);
}

/** Bytes of a `framecrc` listing read from its end: ~90 s of AAC packets, far more than the new seconds after the splice. */
const FRAMECRC_TAIL_BYTES = 256 * 1024;

/**
 * The start times (in samples) of the packets at the end of a `framecrc` listing of one AAC
 * stream, from its last `FRAMECRC_TAIL_BYTES`; none unless its time base is one sample (so that
 * a listing in another unit never passes the check).
 */
async function soundPacketStarts(listing: string): Promise<number[]> {
  const file = await fs.open(listing);
  try {
    const { size } = await file.stat();
    const head = Buffer.alloc(Math.min(size, 512));
    await file.read(head, 0, head.length, 0);
    if (!head.toString('latin1').includes(`#tb 0: 1/${AUDIO_SAMPLE_RATE}\n`)) return [];
    const length = Math.min(size, FRAMECRC_TAIL_BYTES);
    const tail = Buffer.alloc(length);
    await file.read(tail, 0, length, size - length);
    return tail
      .toString('latin1')
      .split('\n')
      .slice(size > length ? 1 : 0) // the first line may be cut
      .filter((line) => line.startsWith('0,'))
      .map((line) => Number(line.split(',')[2]));
  } finally {
    await file.close();
  }
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
