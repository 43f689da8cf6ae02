import { MediaError } from './errors.js';
import { MAX_SOURCE_SECONDS } from './task.js';

/** What the rules need to know of a video someone asks Segue to extend. */
export interface SourceVideoFacts {
  readonly durationSeconds: number;
  readonly width: number;
  readonly height: number;
  /** Average frames per second. */
  readonly fps: number;
}

const widest = 2.5;

/**
 * The largest media Segue decodes on a user's behalf. A few hundred kilobytes can declare a
 * 15000×15000 picture or hours of frames; these caps are checked from the probe, before any
 * frame is decoded. 4096 covers DCI 4K either way round.
 */
export const MEDIA_LIMITS = Object.freeze({
  maxSide: 4096,
  maxPixelsPerFrame: 4096 * 2304,
  maxFps: 120,
  /** Pixels a second: 4K at 60 fps. */
  maxPixelRate: 4096 * 2160 * 60,
  maxFrames: MAX_SOURCE_SECONDS * 120,
  /** Pictures (image-to-video inputs) may be larger than video frames, but not absurdly so. */
  maxImageSide: 8192,
  maxImagePixels: 8192 * 8192,
});

/**
 * The rules for a video to extend that Segue did not make: a readable video stream, at most
 * 141 s (the result may not pass 148 s), an aspect ratio that fits 16:9 or 9:16 by padding
 * without absurd bars, and a size Segue can decode (MEDIA_LIMITS).
 */
export function checkExtendableSource(facts: SourceVideoFacts | null): void {
  if (!facts || facts.width <= 0 || facts.height <= 0) throw new MediaError('the file has no readable video stream');
  if (facts.durationSeconds > MAX_SOURCE_SECONDS + 0.05) {
    throw new MediaError(`the video is ${facts.durationSeconds.toFixed(1)} s long; videos up to ${MAX_SOURCE_SECONDS} s can be extended`);
  }
  if (facts.durationSeconds < 0.5) throw new MediaError('the video is shorter than half a second');
  const ratio = facts.width / facts.height;
  if (ratio > widest || ratio < 1 / widest) {
    throw new MediaError(
      `the video's aspect ratio (${facts.width}×${facts.height}) is not supported; from 1:${widest} to ${widest}:1 can be extended`,
    );
  }
  checkDecodableVideo(facts);
}

function checkDecodableVideo({ width, height, fps, durationSeconds }: SourceVideoFacts): void {
  const size = `${width}×${height}`;
  if (Math.max(width, height) > MEDIA_LIMITS.maxSide || width * height > MEDIA_LIMITS.maxPixelsPerFrame) {
    throw new MediaError(`the video is ${size}; videos up to ${MEDIA_LIMITS.maxSide} pixels a side (4K) can be extended`);
  }
  if (!(fps > 0) || fps > MEDIA_LIMITS.maxFps) {
    throw new MediaError(`the video's frame rate (${Number.isFinite(fps) ? fps.toFixed(1) : 'unknown'}) is not supported; up to ${MEDIA_LIMITS.maxFps} fps can be extended`);
  }
  if (width * height * fps > MEDIA_LIMITS.maxPixelRate) {
    throw new MediaError(`the video is ${size} at ${fps.toFixed(1)} fps; more than 4K at 60 fps cannot be extended`);
  }
  if (durationSeconds * fps > MEDIA_LIMITS.maxFrames) {
    throw new MediaError(`the video has more than ${MEDIA_LIMITS.maxFrames} frames`);
  }
}

/** Refuses a picture too large to decode safely. */
export function checkDecodableImage(width: number, height: number, label: string): void {
  if (Math.max(width, height) > MEDIA_LIMITS.maxImageSide || width * height > MEDIA_LIMITS.maxImagePixels) {
    throw new MediaError(`${label} is ${width}×${height}; pictures up to ${MEDIA_LIMITS.maxImageSide} pixels a side are accepted`);
  }
}

/** The facts of a probed video stream, in the shape the rules take. */
export function sourceFacts(video: { durationSeconds: number; width: number; height: number; fps: number } | null): SourceVideoFacts | null {
  return video && { durationSeconds: video.durationSeconds, width: video.width, height: video.height, fps: video.fps };
}
