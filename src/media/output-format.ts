import type { AspectRatio, Resolution } from '../domain/task.js';

/** The local engine's output, like Veo's: 24 fps, 720p, H.264 + AAC in MP4 with faststart. */
export const OUTPUT_FPS = 24;
export const AUDIO_SAMPLE_RATE = 48000;

export function frameSize(aspectRatio: AspectRatio, resolution: Resolution): { width: number; height: number } {
  const [long, short] = resolution === '1080p' ? [1920, 1080] : [1280, 720];
  return aspectRatio === '9:16' ? { width: short, height: long } : { width: long, height: short };
}

/**
 * The x264 settings Segue encodes with, by name. `fast` is what every render uses now; the
 * older ones stay so that results made with them (their H.264 parameter sets tell which) still
 * join their extensions by stream copy: an extension encodes its new seconds as its source was
 * encoded. Chosen by measurement (docs/local-engine-performance.md): `ultrafast` with CABAC and
 * B-frames at CRF 19 takes about two thirds of `superfast`'s encoder time on the engine's
 * pictures and writes smaller files, at a PSNR above the original `veryfast`'s. The B-frames also
 * matter to the join: they put the picture's first decoding time far enough before 0 for the
 * sound's splice to lie well before the seam (see `spliceDistance`).
 */
export const ENCODER_SETTINGS = {
  fast: ['-preset', 'ultrafast', '-x264-params', 'cabac=1:bframes=3', '-crf', '19'],
  /** Results made before the `fast` settings (`superfast` and, before it, `veryfast` at CRF 19 write the same parameter sets). */
  superfast: ['-preset', 'superfast', '-crf', '19'],
} as const satisfies Record<string, readonly string[]>;

export type EncoderSettings = keyof typeof ENCODER_SETTINGS;
export const CURRENT_ENCODER: EncoderSettings = 'fast';

/**
 * Encoder arguments shared by every render, at a frame rate (Segue's own 24, or a joinable
 * source's). The thread count is fixed and bit-exact flags are set, so the same inputs and seed
 * give byte-identical frames; every render writing the same parameter sets is what lets
 * extensions join Segue's results by stream copy.
 */
export function videoEncoderArgs(fps: number = OUTPUT_FPS, settings: EncoderSettings = CURRENT_ENCODER): string[] {
  const keyframeInterval = String(Math.round(fps * 2));
  return [
    '-c:v', 'libx264', ...ENCODER_SETTINGS[settings], '-profile:v', 'high', '-pix_fmt', 'yuv420p',
    '-r', String(fps), '-g', keyframeInterval, '-keyint_min', keyframeInterval,
    '-sc_threshold', '0', '-threads', '2', '-flags:v', '+bitexact',
  ];
}

export const audioEncoderArgs: readonly string[] = [
  '-c:a', 'aac', '-b:a', '128k', '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '2', '-flags:a', '+bitexact',
];

export const containerArgs: readonly string[] = ['-movflags', '+faststart', '-map_metadata', '-1', '-fflags', '+bitexact'];
