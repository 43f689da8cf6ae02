import type { AspectRatio, Resolution } from '../domain/task.js';

/** The local engine's output, like Veo's: 24 fps, 720p, H.264 + AAC in MP4 with faststart. */
export const OUTPUT_FPS = 24;
export const AUDIO_SAMPLE_RATE = 48000;

export function frameSize(aspectRatio: AspectRatio, resolution: Resolution): { width: number; height: number } {
  const [long, short] = resolution === '1080p' ? [1920, 1080] : [1280, 720];
  return aspectRatio === '9:16' ? { width: short, height: long } : { width: long, height: short };
}

/**
 * Encoder arguments shared by every render, at a frame rate (Segue's own 24, or a joinable
 * source's). The thread count is fixed and bit-exact flags are set, so the same inputs and seed
 * give byte-identical frames; every render writing the same parameter sets is what lets
 * extensions join Segue's results by stream copy.
 *
 * `superfast` at CRF 19, chosen by measurement (docs/local-engine-performance.md): it takes
 * 55–60 % of `veryfast`'s encoder time at a higher PSNR, for larger files; and it writes the
 * same SPS/PPS as `veryfast` at CRF 19 (another CRF would not: the PPS carries its initial QP),
 * so results made before still join by stream copy.
 */
export function videoEncoderArgs(fps: number = OUTPUT_FPS): string[] {
  const keyframeInterval = String(Math.round(fps * 2));
  return [
    '-c:v', 'libx264', '-preset', 'superfast', '-crf', '19', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
    '-r', String(fps), '-g', keyframeInterval, '-keyint_min', keyframeInterval,
    '-sc_threshold', '0', '-threads', '2', '-flags:v', '+bitexact',
  ];
}

export const audioEncoderArgs: readonly string[] = [
  '-c:a', 'aac', '-b:a', '128k', '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '2', '-flags:a', '+bitexact',
];

export const containerArgs: readonly string[] = ['-movflags', '+faststart', '-map_metadata', '-1', '-fflags', '+bitexact'];
