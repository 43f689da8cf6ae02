import fs from 'node:fs';
import { createRequire } from 'node:module';
import { runProcess, type RunOptions } from './process-runner.js';

const require = createRequire(import.meta.url);

/** What ffprobe tells about a media file, in the terms Segue uses. */
export interface MediaInfo {
  readonly formatName: string;
  readonly durationSeconds: number;
  /** Where the container's timeline starts (0 for Segue's files: their sound's priming lies before it). */
  readonly startSeconds: number;
  readonly video: {
    /** The video stream's own duration (the container's may be longer, e.g. audio running on). */
    readonly durationSeconds: number;
    readonly codec: string;
    readonly width: number;
    readonly height: number;
    readonly fps: number;
    /** The declared frame rate; differs from `fps` (the average) for variable-frame-rate video. */
    readonly declaredFps: number;
    readonly pixelFormat: string;
    readonly sampleAspectRatio: string;
    readonly timeBase: string;
    /** Stored turned by 90°: `width` and `height` are already as displayed. */
    readonly rotated: boolean;
    /** The codec extradata as ffprobe prints it (for H.264 in MP4: the SPS/PPS); read with the probe. */
    readonly extradata?: string;
  } | null;
  readonly audio: {
    readonly codec: string;
    readonly sampleRate: number;
    readonly channels: number;
  } | null;
}

/** A packet's stream kind (`video`, `audio`, …) and timestamps (NaN when absent) in its stream's time base. */
export interface PacketTimes {
  readonly kind: string;
  readonly pts: number;
  readonly dts: number;
}

/** How many packets from the start `packetsNearEnd` reports (enough to meet each stream's first). */
const FIRST_PACKETS = 16;

function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [numerator, denominator] = rate.split('/').map(Number);
  if (!numerator || !denominator) return Number(rate) || 0;
  return numerator / denominator;
}

/** The ffmpeg and ffprobe binaries: the npm-shipped ones unless SEGUE_FFMPEG / SEGUE_FFPROBE say otherwise. */
export class MediaTools {
  readonly ffmpegPath: string;
  readonly ffprobePath: string;

  constructor(options: { ffmpegPath?: string | undefined; ffprobePath?: string | undefined; defaultTimeoutMs: number }) {
    this.ffmpegPath = options.ffmpegPath ?? (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
    this.ffprobePath = options.ffprobePath ?? (require('@ffprobe-installer/ffprobe') as { path: string }).path;
    this.defaultTimeoutMs = options.defaultTimeoutMs;
  }

  private readonly defaultTimeoutMs: number;

  /** Runs ffmpeg quietly with these arguments (inputs, filters, outputs). */
  async ffmpeg(args: readonly string[], options: Partial<RunOptions> = {}): Promise<Buffer> {
    return runProcess(this.ffmpegPath, ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], {
      timeoutMs: options.timeoutMs ?? this.defaultTimeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.input ? { input: options.input } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
  }

  /**
   * Reads a file's container and first video and audio streams (with the video's codec
   * extradata, so a join plan needs no second look). Throws MediaProcessError if unreadable.
   */
  async probe(filePath: string, options: { signal?: AbortSignal } = {}): Promise<MediaInfo> {
    const output = await runProcess(
      this.ffprobePath,
      ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '-show_data', filePath],
      { timeoutMs: 60_000, ...(options.signal ? { signal: options.signal } : {}) },
    );
    return mediaInfo(JSON.parse(output.toString('utf8')) as ProbeJson);
  }

  /**
   * The packets a stream-copy join cuts near: the first few of the file and every one from
   * `fromSeconds` to the end, in the order the demuxer reads them (the order the concat demuxer
   * sees), each with its stream's kind and its timestamps in that stream's time base. One
   * ffprobe run, reading well under a second of the file.
   */
  async packetsNearEnd(filePath: string, fromSeconds: number, signal?: AbortSignal): Promise<{ first: PacketTimes[]; end: PacketTimes[] }> {
    const output = await runProcess(
      this.ffprobePath,
      [
        '-v', 'error', '-read_intervals', `%+#${FIRST_PACKETS},${Math.max(0, fromSeconds).toFixed(3)}%+86400`,
        '-show_entries', 'packet=codec_type,pts,dts', '-of', 'csv=p=0', filePath,
      ],
      { timeoutMs: 60_000, ...(signal ? { signal } : {}) },
    );
    const packets = output
      .toString('utf8')
      .split('\n')
      .map((line) => line.split(','))
      .filter((fields) => fields.length >= 3)
      .map(([kind, pts, dts]) => ({ kind: kind!, pts: Number.parseInt(pts!, 10), dts: Number.parseInt(dts!, 10) }));
    return { first: packets.slice(0, FIRST_PACKETS), end: packets.slice(FIRST_PACKETS) };
  }

  /**
   * `count` stereo samples at `sampleRate` of the first audio stream from sample `from` on, as
   * interleaved floats (zeros past its end). An accurate seek: within a hundred-thousandth of
   * decoding from the start, and it costs the samples read, not the file's length.
   */
  async audioSamples(filePath: string, range: { from: number; count: number; sampleRate: number }, signal?: AbortSignal): Promise<Float32Array> {
    const raw = await this.ffmpeg(
      [
        '-ss', (range.from / range.sampleRate).toFixed(9), '-i', filePath, '-vn', '-map', '0:a:0',
        '-af', `aformat=sample_rates=${range.sampleRate}:channel_layouts=stereo,atrim=end_sample=${range.count}`, '-f', 'f32le', '-',
      ],
      signal ? { signal } : {},
    );
    const samples = new Float32Array(range.count * 2);
    const floats = Math.min(Math.floor(raw.length / 4), samples.length);
    samples.set(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + floats * 4)));
    return samples;
  }

  /** The first video stream's codec extradata (for H.264 in MP4: the SPS/PPS), as ffprobe prints it. */
  async videoExtradata(filePath: string, signal?: AbortSignal): Promise<string> {
    const output = await runProcess(
      this.ffprobePath,
      ['-v', 'error', '-show_data', '-select_streams', 'v:0', '-show_entries', 'stream=extradata', '-of', 'json', filePath],
      { timeoutMs: 60_000, ...(signal ? { signal } : {}) },
    );
    const parsed = JSON.parse(output.toString('utf8')) as { streams?: Array<{ extradata?: string }> };
    return parsed.streams?.[0]?.extradata ?? '';
  }

  /** Whether both binaries exist and are executable (cheap enough for a readiness probe). */
  usable(): boolean {
    try {
      fs.accessSync(this.ffmpegPath, fs.constants.X_OK);
      fs.accessSync(this.ffprobePath, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
}

type ProbeJson = {
  format?: { format_name?: string; duration?: string; start_time?: string };
  streams?: Array<
    Record<string, unknown> & {
      disposition?: { attached_pic?: number };
      tags?: { rotate?: string };
      side_data_list?: Array<{ rotation?: number }>;
    }
  >;
};

/** ffprobe's JSON in Segue's terms. */
function mediaInfo(parsed: ProbeJson): MediaInfo {
  const streams = parsed.streams ?? [];
  // Cover art is a video stream too; it is not the video.
  const video = streams.find((s) => s['codec_type'] === 'video' && s.disposition?.attached_pic !== 1);
  const audio = streams.find((s) => s['codec_type'] === 'audio');
  // Phone videos store portrait frames as landscape plus a rotation; ffmpeg turns them on decode.
  const rotation = Math.abs(Number(video?.side_data_list?.find((data) => data.rotation !== undefined)?.rotation ?? video?.tags?.rotate ?? 0)) % 180;
  const [width, height] = [Number(video?.['width'] ?? 0), Number(video?.['height'] ?? 0)];
  const declaredFps = parseRate(String(video?.['r_frame_rate'] ?? ''));
  const duration = Number(parsed.format?.duration ?? video?.['duration'] ?? 0);
  return {
    formatName: parsed.format?.format_name ?? '',
    durationSeconds: Number.isFinite(duration) ? duration : 0,
    startSeconds: Number(parsed.format?.start_time ?? 0) || 0,
    video: video
      ? {
          durationSeconds: Number(video['duration'] ?? duration) || duration,
          codec: String(video['codec_name'] ?? ''),
          width: rotation === 90 ? height : width,
          height: rotation === 90 ? width : height,
          rotated: rotation === 90,
          fps: parseRate(String(video['avg_frame_rate'] ?? '')) || declaredFps,
          declaredFps,
          pixelFormat: String(video['pix_fmt'] ?? ''),
          sampleAspectRatio: String(video['sample_aspect_ratio'] ?? '1:1'),
          timeBase: String(video['time_base'] ?? ''),
          ...(video['extradata'] !== undefined ? { extradata: String(video['extradata']) } : {}),
        }
      : null,
    audio: audio
      ? {
          codec: String(audio['codec_name'] ?? ''),
          sampleRate: Number(audio['sample_rate'] ?? 0),
          channels: Number(audio['channels'] ?? 0),
        }
      : null,
  };
}
