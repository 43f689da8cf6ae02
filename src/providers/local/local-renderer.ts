import fs from 'node:fs/promises';
import path from 'node:path';
import { MediaError } from '../../domain/errors.js';
import type { AspectRatio, GenerationMode } from '../../domain/task.js';
import { EXTENSION_SECONDS, GENERATION_SECONDS } from '../../domain/task.js';
import type { MediaInfo, MediaTools } from '../../media/media-tools.js';
import { MediaProcessError } from '../../media/process-runner.js';
import type { SafeHttpClient } from '../../net/safe-http.js';
import { audioEncoderArgs, containerArgs, frameSize, OUTPUT_FPS, videoEncoderArgs } from './output-format.js';
import { ambientAudioSource, proceduralSceneSource } from './scene-graphs.js';
import { between, seededRandom } from './seeded-random.js';

/** Files a render leaves in its work directory, ready to be moved into the blob store. */
export interface RenderOutput {
  readonly videoPath: string;
  readonly segmentPath: string | null;
  readonly posterPath: string;
  readonly info: MediaInfo;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface GenerateRequest {
  readonly seed: number;
  readonly aspectRatio: AspectRatio | 'auto';
  readonly mode: GenerationMode;
  readonly imageUrls: readonly string[];
}

export interface ExtendRequest {
  readonly seed: number;
  readonly sourcePath: string;
}

interface RenderLimits {
  readonly mediaMaxBytes: number;
  readonly mediaTimeoutMs: number;
}

const imageFormats = /^(png_pipe|jpeg_pipe|webp_pipe|bmp_pipe|gif|tiff_pipe|image2|mjpeg)$/;

/** The local engine's renderer: every picture and sound it makes comes from ffmpeg graphs built here. */
export class LocalRenderer {
  constructor(
    private readonly media: MediaTools,
    private readonly http: SafeHttpClient,
    private readonly limits: RenderLimits,
  ) {}

  async generate(request: GenerateRequest, workDir: string, signal: AbortSignal): Promise<RenderOutput> {
    const videoPath = path.join(workDir, 'video.mp4');
    if (request.mode === 'text') {
      const aspectRatio = request.aspectRatio === 'auto' ? '16:9' : request.aspectRatio;
      const { width, height } = frameSize(aspectRatio);
      await this.media.ffmpeg(
        [
          '-f', 'lavfi', '-i', proceduralSceneSource(request.seed, width, height, GENERATION_SECONDS),
          '-f', 'lavfi', '-i', ambientAudioSource(request.seed, GENERATION_SECONDS),
          '-map', '0:v', '-map', '1:a', ...videoEncoderArgs, ...audioEncoderArgs, ...containerArgs,
          '-t', String(GENERATION_SECONDS), videoPath,
        ],
        { signal },
      );
      return this.finish(videoPath, null, workDir, signal, { method: 'procedural_scene' });
    }
    const images = await this.fetchImages(request.imageUrls, workDir, signal);
    const first = images[0]!;
    const aspectRatio =
      request.aspectRatio === 'auto' ? (first.width >= first.height ? '16:9' : '9:16') : request.aspectRatio;
    await this.animateImages(images.map((image) => image.path), aspectRatio, request.seed, videoPath, signal);
    return this.finish(videoPath, null, workDir, signal, {
      method: images.length === 1 ? 'image_animation' : 'image_sequence_animation',
      images: images.length,
    });
  }

  /**
   * v1 extension: continue the source's last frame with a slow seeded camera move (a push-in
   * towards a drifting focal point), so the first new frame is the last source frame.
   */
  async extend(request: ExtendRequest, workDir: string, signal: AbortSignal): Promise<RenderOutput> {
    const source = await this.readable(request.sourcePath, signal);
    if (!source.video) throw new MediaError('the source has no video stream');
    const width = source.video.width - (source.video.width % 2);
    const height = source.video.height - (source.video.height % 2);
    const lastFrame = path.join(workDir, 'last-frame.png');
    await this.media.ffmpeg(
      ['-sseof', '-1', '-i', request.sourcePath, '-an', '-vf', `scale=${width}:${height}`, '-update', '1', lastFrame],
      { signal },
    );
    const random = seededRandom(request.seed);
    const zoomPerSecond = between(random, 0.008, 0.016);
    const focusX = between(random, 0.3, 0.7);
    const focusY = between(random, 0.35, 0.65);
    const segmentPath = path.join(workDir, 'segment.mp4');
    // zoompan works on whole pixels; zooming a 2× upscale halves the visible stepping.
    const frames = EXTENSION_SECONDS * OUTPUT_FPS;
    const move =
      `scale=${width * 2}:${height * 2}:flags=lanczos,` +
      `zoompan=z='1+${zoomPerSecond}*on/${OUTPUT_FPS}':x='(iw-iw/zoom)*${focusX}':y='(ih-ih/zoom)*${focusY}':` +
      `d=${frames}:s=${width}x${height}:fps=${OUTPUT_FPS},setsar=1,format=yuv420p`;
    const audioInput = source.audio
      ? ['-sseof', `-${EXTENSION_SECONDS}`, '-i', request.sourcePath]
      : ['-f', 'lavfi', '-i', ambientAudioSource(request.seed, EXTENSION_SECONDS)];
    await this.media.ffmpeg(
      [
        '-i', lastFrame,
        ...audioInput,
        '-filter_complex', `[0:v]${move}[v];[1:a]aformat=sample_rates=48000:channel_layouts=stereo,afade=t=in:d=0.04,apad[a]`,
        '-map', '[v]', '-map', '[a]', ...videoEncoderArgs, ...audioEncoderArgs, ...containerArgs,
        '-t', String(EXTENSION_SECONDS), segmentPath,
      ],
      { signal },
    );
    const videoPath = path.join(workDir, 'video.mp4');
    const sourceAudio = source.audio
      ? '[0:a]aformat=sample_rates=48000:channel_layouts=stereo[sa]'
      : `anullsrc=r=48000:cl=stereo,atrim=duration=${source.durationSeconds}[sa]`;
    await this.media.ffmpeg(
      [
        '-i', request.sourcePath, '-i', segmentPath,
        '-filter_complex',
        `[0:v]scale=${width}:${height},fps=${OUTPUT_FPS},setsar=1,format=yuv420p[sv];${sourceAudio};` +
          `[1:v]setsar=1[nv];[1:a]anull[na];[sv][sa][nv][na]concat=n=2:v=1:a=1[v][a]`,
        '-map', '[v]', '-map', '[a]', ...videoEncoderArgs, ...audioEncoderArgs, ...containerArgs, videoPath,
      ],
      { signal },
    );
    return this.finish(videoPath, segmentPath, workDir, signal, {
      method: 'camera_motion_continuation',
      sourceSeconds: source.durationSeconds,
      stitch: 're-encoded',
    });
  }

  private async animateImages(
    imagePaths: readonly string[],
    aspectRatio: AspectRatio,
    seed: number,
    outputPath: string,
    signal: AbortSignal,
  ): Promise<void> {
    const { width, height } = frameSize(aspectRatio);
    const random = seededRandom(seed);
    const seconds = GENERATION_SECONDS;
    const coverWidth = Math.round(width * 1.12 / 2) * 2;
    const coverHeight = Math.round(height * 1.12 / 2) * 2;
    const inputs = imagePaths.flatMap((imagePath) => ['-loop', '1', '-framerate', String(OUTPUT_FPS), '-t', String(seconds), '-i', imagePath]);
    const chains = imagePaths.map((_, index) => {
      const fromX = between(random, 0, 1);
      const fromY = between(random, 0, 1);
      const toX = between(random, 0, 1);
      const toY = between(random, 0, 1);
      const fadeIn = index === 0 ? '' : `,format=yuva420p,fade=t=in:st=${((index * seconds) / imagePaths.length - 1).toFixed(3)}:d=2:alpha=1`;
      return (
        `[${index}:v]scale=${coverWidth}:${coverHeight}:force_original_aspect_ratio=increase:flags=lanczos,` +
        `crop=${coverWidth}:${coverHeight},setsar=1,` +
        `crop=${width}:${height}:x='(iw-ow)*(${fromX}+(${toX}-${fromX})*t/${seconds})':y='(ih-oh)*(${fromY}+(${toY}-${fromY})*t/${seconds})'` +
        `${fadeIn}[i${index}]`
      );
    });
    let last = 'i0';
    for (let index = 1; index < imagePaths.length; index++) {
      chains.push(`[${last}][i${index}]overlay=format=auto[o${index}]`);
      last = `o${index}`;
    }
    chains.push(`[${last}]format=yuv420p[v]`);
    await this.media.ffmpeg(
      [
        ...inputs,
        '-f', 'lavfi', '-i', ambientAudioSource(seed, seconds),
        '-filter_complex', chains.join(';'),
        '-map', '[v]', '-map', `${imagePaths.length}:a`,
        ...videoEncoderArgs, ...audioEncoderArgs, ...containerArgs, '-t', String(seconds), outputPath,
      ],
      { signal },
    );
  }

  private async fetchImages(urls: readonly string[], workDir: string, signal: AbortSignal) {
    const images: Array<{ path: string; width: number; height: number }> = [];
    for (const [index, url] of urls.entries()) {
      const imagePath = path.join(workDir, `image-${index}`);
      await this.http.download(url, imagePath, {
        maxBytes: this.limits.mediaMaxBytes,
        timeoutMs: this.limits.mediaTimeoutMs,
        signal,
      });
      const info = await this.readable(imagePath, signal);
      if (!info.video || !imageFormats.test(info.formatName) || info.video.width < 16 || info.video.height < 16) {
        throw new MediaError(`image ${index + 1} is not a readable picture`);
      }
      images.push({ path: imagePath, width: info.video.width, height: info.video.height });
    }
    return images;
  }

  /** Probes a file; an unreadable one is the user's input problem, not a crash. */
  private async readable(filePath: string, signal: AbortSignal): Promise<MediaInfo> {
    try {
      return await this.media.probe(filePath, { signal });
    } catch (error) {
      if (error instanceof MediaProcessError && (error.aborted || error.timedOut)) throw error;
      throw new MediaError('the file is not a readable image or video');
    }
  }

  private async finish(
    videoPath: string,
    segmentPath: string | null,
    workDir: string,
    signal: AbortSignal,
    details: Record<string, unknown>,
  ): Promise<RenderOutput> {
    const info = await this.media.probe(videoPath, { signal });
    const posterPath = path.join(workDir, 'poster.jpg');
    await this.media.ffmpeg(
      ['-ss', String(Math.min(1, info.durationSeconds / 2)), '-i', videoPath, '-frames:v', '1', '-q:v', '3', posterPath],
      { signal },
    );
    await fs.access(posterPath);
    return { videoPath, segmentPath, posterPath, info, details: { engine: 'local', ...details } };
  }
}
