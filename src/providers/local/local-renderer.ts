import fs from 'node:fs/promises';
import path from 'node:path';
import { MediaError } from '../../domain/errors.js';
import { checkDecodableImage } from '../../domain/source-video-rules.js';
import type { AspectRatio, GenerationMode, Resolution } from '../../domain/task.js';
import { EXTENSION_SECONDS } from '../../domain/task.js';
import type { MediaInfo, MediaTools } from '../../media/media-tools.js';
import { MediaProcessError } from '../../media/process-runner.js';
import type { SafeHttpClient } from '../../net/safe-http.js';
import { AUDIO_SAMPLE_RATE, audioEncoderArgs, containerArgs, frameSize, OUTPUT_FPS, videoEncoderArgs } from '../../media/output-format.js';
import { ambientAudioSource, proceduralSceneSource } from './scene-graphs.js';
import { between, seededRandom } from './seeded-random.js';
import { encodeSegment, type EncodedSegment, type SegmentSound } from './segment-encoder.js';
import { assemble, type Joined, type JoinPlan, planJoin, targetAspectRatio } from './stitcher.js';
import type { TextureAnalysisCache } from './texture-analysis.js';
import { readWindowSound, renderTextureSegment, spliceLead, type TextureSegment } from './texture-renderer.js';
import { watermarkFilter } from '../../media/watermark-filter.js';

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
  readonly durationSeconds: number;
  readonly resolution: Resolution;
  readonly generateAudio: boolean;
  /** Drawn on the video (already checked: one line the font can draw). */
  readonly watermark: string | null;
}

export interface ExtendRequest {
  readonly seed: number;
  readonly sourcePath: string;
  /** The source's blob key, when it has one: its analysis is kept under it for later extensions. */
  readonly sourceKey?: string | undefined;
  readonly aspectRatio: AspectRatio | 'auto';
  readonly generateAudio: boolean;
  /** Drawn on the new seconds; the source keeps its pictures (and stream copy stays possible). */
  readonly watermark: string | null;
}

interface RenderOptions {
  readonly mediaMaxBytes: number;
  readonly mediaTimeoutMs: number;
  /** Where the analyses of sources are kept between extensions (none: every extension analyses). */
  readonly analysisCache?: TextureAnalysisCache | undefined;
}

/** Where a result's poster is taken (half the length for a shorter video). */
const POSTER_SECONDS = 1;

const imageFormats = /^(png_pipe|jpeg_pipe|webp_pipe|bmp_pipe|gif|tiff_pipe|image2|mjpeg)$/;

/** The local engine's renderer: every picture and sound it makes comes from ffmpeg graphs built here. */
export class LocalRenderer {
  constructor(
    private readonly media: MediaTools,
    private readonly http: SafeHttpClient,
    private readonly options: RenderOptions,
  ) {}

  async generate(request: GenerateRequest, workDir: string, signal: AbortSignal): Promise<RenderOutput> {
    const videoPath = path.join(workDir, 'video.mp4');
    const seconds = request.durationSeconds;
    const audio = request.generateAudio
      ? { input: ['-f', 'lavfi', '-i', ambientAudioSource(request.seed, seconds)], args: audioEncoderArgs }
      : { input: [], args: [] };
    if (request.mode === 'text') {
      const aspectRatio = request.aspectRatio === 'auto' ? '16:9' : request.aspectRatio;
      const { width, height } = frameSize(aspectRatio, request.resolution);
      const watermark = request.watermark ? await watermarkFilter(request.watermark, workDir, height) : null;
      await this.media.ffmpeg(
        [
          '-f', 'lavfi', '-i', proceduralSceneSource(request.seed, width, height, seconds), ...audio.input,
          '-map', '0:v', ...(request.generateAudio ? ['-map', '1:a'] : []), ...(watermark ? ['-vf', watermark] : []),
          ...videoEncoderArgs(), ...audio.args, ...containerArgs, '-t', String(seconds), videoPath,
        ],
        { signal, cwd: workDir },
      );
      return this.finish(videoPath, null, workDir, signal, { method: 'procedural_scene' });
    }
    const images = await this.fetchImages(request.imageUrls, workDir, signal);
    const first = images[0]!;
    const aspectRatio =
      request.aspectRatio === 'auto' ? (first.width >= first.height ? '16:9' : '9:16') : request.aspectRatio;
    const { width, height } = frameSize(aspectRatio, request.resolution);
    const imagePaths = images.map((image) => image.path);
    const watermark = request.watermark ? await watermarkFilter(request.watermark, workDir, height) : null;
    await this.media.ffmpeg(
      [
        ...imagePaths.flatMap((imagePath) => ['-loop', '1', '-framerate', String(OUTPUT_FPS), '-t', String(seconds), '-i', imagePath]),
        ...audio.input,
        '-filter_complex', imageAnimationGraph(imagePaths.length, width, height, seconds, request.seed, watermark),
        '-map', '[v]', ...(request.generateAudio ? ['-map', `${imagePaths.length}:a`] : []),
        ...videoEncoderArgs(), ...audio.args, ...containerArgs, '-t', String(seconds), videoPath,
      ],
      { signal, cwd: workDir },
    );
    return this.finish(videoPath, null, workDir, signal, {
      method: images.length === 1 ? 'image_animation' : 'image_sequence_animation',
      images: images.length,
    });
  }

  /**
   * Extension: the source goes on with its own material (Video Textures), or — too short or too
   * static to loop — with its camera motion; then it is joined to the source, by stream copy
   * where the source allows it. The processes: one probe; beside each other the packets at the
   * seam, the window's sound and (for a stream copy) the poster, taken from the source; one
   * analysis decode (none when the source's analysis is kept); one encoder that decodes and walks
   * the window itself (the new seconds and their sound, which carries the splice's tail); one
   * join (one concat input, listing the sound's packets to check the splice), and one probe of
   * the result beside its poster.
   */
  async extend(request: ExtendRequest, workDir: string, signal: AbortSignal): Promise<RenderOutput> {
    const source = await this.inspect(request.sourcePath, signal);
    if (!source.video) throw new MediaError('the source has no video stream');
    const withAudio = source.audio !== null || request.generateAudio;
    const windowSound = readWindowSound(this.media, request.sourcePath, source, withAudio, signal);
    const plan = await planJoin(this.media, request.sourcePath, source, targetAspectRatio(source, request.aspectRatio), workDir, signal);
    // A stream-copy result starts with the source's own frames: its poster is the source's.
    const posterPath = path.join(workDir, 'poster.jpg');
    const sourcePoster =
      plan.mode === 'stream_copy' && source.video.durationSeconds >= 2 * POSTER_SECONDS
        ? this.poster(request.sourcePath, POSTER_SECONDS, posterPath, signal)
        : null;
    sourcePoster?.catch(() => undefined);
    let made: { segment: TextureSegment; joined: Joined };
    try {
      made = await this.newSecondsJoined(request, source, plan, withAudio, windowSound, workDir, signal);
    } catch (error) {
      // The poster is being written into the work directory: it ends before the directory is removed.
      await sourcePoster?.catch(() => undefined);
      throw error;
    }
    const { segment, joined } = made;
    const videoPath = path.join(workDir, 'video.mp4');
    // Both end before this answers, either way: the poster is being written into the work directory.
    const [probed, postered] = await Promise.allSettled([this.media.probe(videoPath, { signal }), sourcePoster ?? this.poster(videoPath, POSTER_SECONDS, posterPath, signal)]);
    if (probed.status === 'rejected') throw probed.reason;
    if (postered.status === 'rejected') throw postered.reason;
    const info = probed.value;
    const details = {
      ...segment.details,
      sourceSeconds: source.video.durationSeconds,
      stitch: plan.mode,
      stitchReason: plan.reason,
      audioJoin: joined.audioJoin,
    };
    return { videoPath, segmentPath: segment.segmentPath, posterPath, info, details: { engine: 'local', ...details } };
  }

  /** The new seconds (Video Textures, or the camera-motion fallback) joined to the source as `video.mp4`. */
  private async newSecondsJoined(
    request: ExtendRequest,
    source: MediaInfo,
    plan: JoinPlan,
    withAudio: boolean,
    windowSound: Promise<Float32Array>,
    workDir: string,
    signal: AbortSignal,
  ): Promise<{ segment: TextureSegment; joined: Joined }> {
    const watermark = request.watermark ? await watermarkFilter(request.watermark, workDir, plan.height) : null;
    const texture = await renderTextureSegment(
      this.media,
      {
        sourcePath: request.sourcePath, source, plan, seed: request.seed, withAudio, windowSound, watermark,
        analysisCache: this.options.analysisCache, sourceKey: request.sourceKey,
      },
      workDir,
      signal,
    );
    const segment =
      'fallback' in texture
        ? {
            ...(await this.cameraMotionSegment(request, source, plan, withAudio, watermark, workDir, signal)),
            details: { method: 'camera_motion_continuation', fallbackReason: texture.fallback },
          }
        : texture;
    const joined = await assemble(this.media, {
      sourcePath: request.sourcePath,
      source,
      plan,
      segmentPath: segment.segmentPath,
      segmentAudioPath: segment.segmentAudioPath,
      soundSpliced: segment.soundSpliced,
      outputPath: path.join(workDir, 'video.mp4'),
      workDir,
      signal,
    });
    return { segment, joined };
  }

  /**
   * The fallback for sources too short or too static to loop: the last frame continued with a
   * slow seeded camera move (a push-in towards a drifting focal point); its sound is the source's
   * last seconds once more (or a seeded pad if it had none), faded in.
   */
  private async cameraMotionSegment(
    request: ExtendRequest,
    source: MediaInfo,
    plan: JoinPlan,
    withAudio: boolean,
    watermark: string | null,
    workDir: string,
    signal: AbortSignal,
  ): Promise<EncodedSegment> {
    const { width, height, fps } = plan;
    const lastFrame = path.join(workDir, 'last-frame.png');
    const sound = withAudio ? this.cameraMotionSound(request, source, plan, signal) : Promise.resolve(null);
    sound.catch(() => undefined);
    await this.media.ffmpeg(
      ['-sseof', '-1', '-i', request.sourcePath, '-an', ...(plan.sourceFilter ? ['-vf', plan.sourceFilter] : []), '-update', '1', lastFrame],
      { signal },
    );
    const random = seededRandom(request.seed);
    const zoomPerSecond = between(random, 0.008, 0.016);
    const focusX = between(random, 0.3, 0.7);
    const focusY = between(random, 0.35, 0.65);
    const frames = Math.round(EXTENSION_SECONDS * fps);
    // zoompan works on whole pixels; zooming a 2× upscale halves the visible stepping.
    return encodeSegment(this.media, {
      plan,
      videoInput: ['-i', lastFrame],
      videoGraph:
        `[0:v]scale=${width * 2}:${height * 2}:flags=lanczos,` +
        `zoompan=z='1+${zoomPerSecond}*on/${fps}':x='(iw-iw/zoom)*${focusX}':y='(ih-ih/zoom)*${focusY}':` +
        `d=${frames}:s=${width}x${height}:fps=${fps},setsar=1,${watermark ? `${watermark},` : ''}format=yuv420p[v]`,
      frames,
      sound: await sound,
      workDir,
      signal,
    });
  }

  /** The camera-motion segment's sound: the source's last seconds again (faded in), or a seeded pad. */
  private async cameraMotionSound(request: ExtendRequest, source: MediaInfo, plan: JoinPlan, signal: AbortSignal): Promise<SegmentSound> {
    const total = Math.round(EXTENSION_SECONDS * AUDIO_SAMPLE_RATE);
    const seamSample = Math.round(source.video!.durationSeconds * AUDIO_SAMPLE_RATE);
    const from = Math.max(0, seamSample - total);
    const tail = source.audio
      ? await this.media.audioSamples(request.sourcePath, { from, count: seamSample - from, sampleRate: AUDIO_SAMPLE_RATE }, signal)
      : null;
    let samples: Float32Array;
    if (tail) {
      samples = new Float32Array(total * 2);
      samples.set(tail.subarray(0, samples.length));
      const fadeIn = Math.round(0.04 * AUDIO_SAMPLE_RATE);
      for (let s = 0; s < fadeIn; s++) for (let channel = 0; channel < 2; channel++) samples[s * 2 + channel]! *= s / fadeIn;
    } else {
      const raw = await this.media.ffmpeg(
        ['-f', 'lavfi', '-i', ambientAudioSource(request.seed, EXTENSION_SECONDS), '-af', `aformat=sample_rates=${AUDIO_SAMPLE_RATE}:channel_layouts=stereo,apad,atrim=end_sample=${total}`, '-f', 'f32le', '-'],
        { signal },
      );
      samples = new Float32Array(total * 2);
      samples.set(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + Math.min(raw.length, total * 8))));
    }
    return { samples, spliceLead: tail ? spliceLead(tail, seamSample - from, plan) : null };
  }

  /**
   * Upgrades: the whole video scaled up with Lanczos and a light unsharp mask (16:9 → 1920×1080
   * or 3840×2160; 9:16 the same turned), the sound copied as it is.
   */
  async upscale(request: { sourcePath: string; target: '1080p' | '4k' }, workDir: string, signal: AbortSignal): Promise<RenderOutput> {
    const source = await this.inspect(request.sourcePath, signal);
    if (!source.video) throw new MediaError('the source has no video stream');
    const [long, short] = request.target === '4k' ? [3840, 2160] : [1920, 1080];
    const [width, height] = source.video.width >= source.video.height ? [long, short] : [short, long];
    const videoPath = path.join(workDir, 'video.mp4');
    await this.media.ffmpeg(
      [
        '-i', request.sourcePath, '-map', '0:v:0', ...(source.audio ? ['-map', '0:a:0', '-c:a', 'copy'] : []),
        '-vf',
        `scale=${width}:${height}:force_original_aspect_ratio=decrease:flags=lanczos,` +
          `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2,unsharp=5:5:0.5:5:5:0,setsar=1,format=yuv420p`,
        ...videoEncoderArgs(source.video.fps || OUTPUT_FPS),
        ...containerArgs, videoPath,
      ],
      { signal },
    );
    return this.finish(videoPath, null, workDir, signal, { method: `upscale_${request.target}`, scaler: 'lanczos+unsharp' });
  }

  /** Downloads a video to extend (http(s) or data:), refusing what is not a readable video. */
  async importVideo(url: string, destination: string, signal: AbortSignal): Promise<MediaInfo> {
    await this.http.download(url, destination, {
      maxBytes: this.options.mediaMaxBytes,
      timeoutMs: this.options.mediaTimeoutMs,
      signal,
    });
    return this.inspect(destination, signal);
  }

  private async fetchImages(urls: readonly string[], workDir: string, signal: AbortSignal) {
    const images: Array<{ path: string; width: number; height: number }> = [];
    for (const [index, url] of urls.entries()) {
      const imagePath = path.join(workDir, `image-${index}`);
      await this.http.download(url, imagePath, {
        maxBytes: this.options.mediaMaxBytes,
        timeoutMs: this.options.mediaTimeoutMs,
        signal,
      });
      const info = await this.inspect(imagePath, signal);
      if (!info.video || !imageFormats.test(info.formatName) || info.video.width < 16 || info.video.height < 16) {
        throw new MediaError(`image ${index + 1} is not a readable picture`);
      }
      checkDecodableImage(info.video.width, info.video.height, `image ${index + 1}`);
      images.push({ path: imagePath, width: info.video.width, height: info.video.height });
    }
    return images;
  }

  /** Probes a file; an unreadable one is the user's input problem, not a crash. */
  async inspect(filePath: string, signal: AbortSignal): Promise<MediaInfo> {
    try {
      return await this.media.probe(filePath, { signal });
    } catch (error) {
      if (error instanceof MediaProcessError && (error.aborted || error.timedOut)) throw error;
      throw new MediaError('the file is not a readable image or video');
    }
  }

  /** Probes the result and takes its poster. */
  private async finish(videoPath: string, segmentPath: string | null, workDir: string, signal: AbortSignal, details: Record<string, unknown>): Promise<RenderOutput> {
    const posterPath = path.join(workDir, 'poster.jpg');
    const info = await this.media.probe(videoPath, { signal });
    await this.poster(videoPath, Math.min(POSTER_SECONDS, info.durationSeconds / 2), posterPath, signal);
    return { videoPath, segmentPath, posterPath, info, details: { engine: 'local', ...details } };
  }

  /** The poster: the frame at `seconds` as a JPEG (checked to exist: a too-short video writes none). */
  private async poster(videoPath: string, seconds: number, posterPath: string, signal: AbortSignal): Promise<void> {
    await this.media.ffmpeg(['-ss', String(seconds), '-i', videoPath, '-frames:v', '1', '-q:v', '3', posterPath], { signal });
    await fs.access(posterPath);
  }
}

/**
 * Images as video: each covers the frame (cropped, never distorted) and drifts on a seeded
 * path; with several, each fades in over the one before (two images: first and last frame).
 */
function imageAnimationGraph(count: number, width: number, height: number, seconds: number, seed: number, watermark: string | null): string {
  const random = seededRandom(seed);
  const coverWidth = Math.round((width * 1.12) / 2) * 2;
  const coverHeight = Math.round((height * 1.12) / 2) * 2;
  const chains = Array.from({ length: count }, (_, index) => {
    const [fromX, fromY, toX, toY] = [random(), random(), random(), random()].map((value) => Math.round(value * 1000) / 1000);
    const fadeIn = index === 0 ? '' : `,format=yuva420p,fade=t=in:st=${((index * seconds) / count - 1).toFixed(3)}:d=2:alpha=1`;
    return (
      `[${index}:v]scale=${coverWidth}:${coverHeight}:force_original_aspect_ratio=increase:flags=lanczos,` +
      `crop=${coverWidth}:${coverHeight},setsar=1,` +
      `crop=${width}:${height}:x='(iw-ow)*(${fromX}+(${toX}-${fromX})*t/${seconds})':y='(ih-oh)*(${fromY}+(${toY}-${fromY})*t/${seconds})'` +
      `${fadeIn}[i${index}]`
    );
  });
  let last = 'i0';
  for (let index = 1; index < count; index++) {
    chains.push(`[${last}][i${index}]overlay=format=auto[o${index}]`);
    last = `o${index}`;
  }
  chains.push(`[${last}]${watermark ? `${watermark},` : ''}format=yuv420p[v]`);
  return chains.join(';');
}
