import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { MediaTools } from '../../media/media-tools.js';
import { distanceMatrix, type FrameDistances } from './video-texture.js';

/**
 * The analysis half of Video Textures that does not depend on the prompt or the seed: the
 * source's last seconds decoded small and grey, and every pair of their frames compared. It is
 * the same for every extension of a source, so it is kept (`TextureAnalysisCache`) and reused.
 */

/** How much of the source's end is analysed: enough material to loop, bounded work. */
export const ANALYSED_SECONDS = 10;
/** The analysis picture's long side: the lowest at which the seam and motion gates hold. */
const ANALYSIS_LONG_SIDE = 48;
/** Bump when the analysis changes, so kept analyses of the old kind are never read. */
const ANALYSIS_VERSION = 1;

/** Where in the source the analysed window lies and how its frames are made. */
export interface AnalysisWindow {
  readonly startSeconds: number;
  /** Frames to decode at most (the window, plus slack for rounding). */
  readonly maxFrames: number;
  /** Turns a source frame into a result frame (null when the source is already in the output format). */
  readonly sourceFilter: string | null;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
}

/**
 * Decodes the window small and grey and compares every pair of frames. (Decoding is the cost;
 * skipping H.264's loop filter would save a third of it, but the skipped filtering drifts through
 * each group of pictures and made the comparison pick visibly worse jumps.)
 */
export async function analyseWindow(media: MediaTools, sourcePath: string, window: AnalysisWindow, signal: AbortSignal): Promise<FrameDistances> {
  const [smallWidth, smallHeight] =
    window.width >= window.height
      ? [ANALYSIS_LONG_SIDE, Math.round((ANALYSIS_LONG_SIDE * window.height) / window.width)]
      : [Math.round((ANALYSIS_LONG_SIDE * window.width) / window.height), ANALYSIS_LONG_SIDE];
  const toOutput = window.sourceFilter ? `${window.sourceFilter},` : '';
  const grey = await media.ffmpeg(
    // -vsync 0: one picture per decoded frame (no duplicates over timestamp gaps), so that indices
    // here are the `n` of the full-size decode of the render.
    [
      '-ss', window.startSeconds.toFixed(6), '-i', sourcePath, '-an',
      '-vf', `${toOutput}scale=${smallWidth}:${smallHeight}:flags=area,format=gray`,
      '-vsync', '0', '-frames:v', String(window.maxFrames), '-f', 'rawvideo', '-',
    ],
    { signal },
  );
  const pixels = smallWidth * smallHeight;
  const frames = Array.from({ length: Math.floor(grey.length / pixels) }, (_, index) => {
    const frame = new Float32Array(pixels);
    for (let p = 0, offset = index * pixels; p < pixels; p++) frame[p] = grey[offset + p]! / 255;
    return frame;
  });
  return { count: frames.length, distances: distanceMatrix(frames) };
}

/** The key a source's analysis is kept under: its blob key and everything the analysis depends on. */
export function analysisKey(sourceKey: string, window: AnalysisWindow): string {
  const described = JSON.stringify({ version: ANALYSIS_VERSION, size: ANALYSIS_LONG_SIDE, sourceKey, ...window });
  return crypto.createHash('sha256').update(described).digest('hex');
}

const MAGIC = 0x41544753; // "SGTA"

/**
 * Kept analyses, one file per source and window in a directory of the scratch space that sweeps
 * leave alone, bounded in bytes (the least recently used go first). Files are written whole
 * under a temporary name and renamed, so a reader never sees half a file; an unreadable one is
 * treated as absent. Counts what it computed and reused (tests and details read them).
 */
export class TextureAnalysisCache {
  computed = 0;
  reused = 0;

  constructor(
    private readonly directory: string,
    private readonly maxBytes: number = 64 * 1024 * 1024,
  ) {}

  /** The kept analysis for `key`, or a new one from `compute` (then kept). */
  async getOrCompute(key: string, compute: () => Promise<FrameDistances>): Promise<{ analysis: FrameDistances; reused: boolean }> {
    const kept = await this.read(key);
    if (kept) {
      this.reused++;
      return { analysis: kept, reused: true };
    }
    const analysis = await compute();
    this.computed++;
    await this.write(key, analysis);
    return { analysis, reused: false };
  }

  private fileFor(key: string): string {
    return path.join(this.directory, `${key}.distances`);
  }

  private async read(key: string): Promise<FrameDistances | undefined> {
    const file = this.fileFor(key);
    const bytes = await fs.readFile(file).catch(() => undefined);
    if (!bytes || bytes.length < 8 || bytes.readUInt32LE(0) !== MAGIC) return undefined;
    const count = bytes.readUInt32LE(4);
    if (bytes.length !== 8 + count * count * 4) return undefined;
    const distances = new Float32Array(count * count);
    Buffer.from(distances.buffer).set(bytes.subarray(8));
    const now = new Date();
    await fs.utimes(file, now, now).catch(() => undefined);
    return { count, distances };
  }

  private async write(key: string, analysis: FrameDistances): Promise<void> {
    await fs.mkdir(this.directory, { recursive: true });
    const header = Buffer.alloc(8);
    header.writeUInt32LE(MAGIC, 0);
    header.writeUInt32LE(analysis.count, 4);
    const body = Buffer.from(analysis.distances.buffer, analysis.distances.byteOffset, analysis.distances.byteLength);
    const temporary = `${this.fileFor(key)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(temporary, Buffer.concat([header, body]));
    await fs.rename(temporary, this.fileFor(key));
    await this.trim();
  }

  /** Removes the least recently used files until the directory is within its bound. */
  private async trim(): Promise<void> {
    const names = await fs.readdir(this.directory).catch(() => [] as string[]);
    const files = (
      await Promise.all(
        names
          .filter((name) => name.endsWith('.distances'))
          .map(async (name) => {
            const stats = await fs.stat(path.join(this.directory, name)).catch(() => undefined);
            return stats ? { name, size: stats.size, used: stats.mtimeMs } : undefined;
          }),
      )
    ).filter((file) => file !== undefined);
    let total = files.reduce((sum, file) => sum + file.size, 0);
    for (const file of files.sort((a, b) => a.used - b.used)) {
      if (total <= this.maxBytes) break;
      await fs.rm(path.join(this.directory, file.name), { force: true });
      total -= file.size;
    }
  }
}
