import { MediaError } from './errors.js';
import { MAX_SOURCE_SECONDS } from './task.js';

/** What the rules need to know of a video someone asks Segue to extend. */
export interface SourceVideoFacts {
  readonly durationSeconds: number;
  readonly width: number;
  readonly height: number;
}

const widest = 2.5;

/**
 * The rules for a video to extend that Segue did not make: a readable video stream, at most
 * 141 s (the result may not pass 148 s), and an aspect ratio that fits 16:9 or 9:16 by
 * padding without absurd bars.
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
}
