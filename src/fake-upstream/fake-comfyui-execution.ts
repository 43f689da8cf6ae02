import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { MediaTools } from '../media/media-tools.js';
import { nodeClasses } from './fake-comfyui-nodes.js';

/** Frames of a clip, as a list of where they come from (nothing is rendered until an output node asks). */
type Segment =
  /** One still picture (LoadImage). */
  | { readonly kind: 'picture'; readonly file: string }
  /** Frames `from … from+count-1` of an uploaded video. */
  | { readonly kind: 'video'; readonly file: string; readonly fps: number; readonly from: number; readonly count: number; readonly width: number; readonly height: number }
  /** Frames a model makes: starting on the last frame of `start` (image-to-video) or from noise (text). */
  | { readonly kind: 'made'; readonly start: Frames | null; readonly offset: number; readonly count: number; readonly width: number; readonly height: number; readonly seed: number };

interface Frames {
  readonly kind: 'frames';
  readonly segments: readonly Segment[];
}
/** A latent: the frames it decodes to; `planned` until a sampler made them. */
interface Latent {
  readonly kind: 'latent';
  readonly frames: Frames;
}
interface Video {
  readonly kind: 'video';
  readonly frames: Frames;
  readonly fps: number;
}
type Value = Frames | Latent | Video | { readonly kind: 'conditioning'; readonly text: string } | { readonly kind: 'opaque' } | { readonly kind: 'number'; readonly value: number };

/** A failure while running a node: ComfyUI's `execution_error`. */
export class ExecutionError extends Error {
  constructor(
    readonly nodeId: string,
    readonly nodeType: string,
    readonly exceptionType: string,
    message: string,
  ) {
    super(message);
  }
}

/** What one output node wrote (its `ui`, as `/history` shows it). */
export type NodeOutputs = Record<string, Record<string, unknown>>;

export interface ExecutionTools {
  readonly media: MediaTools;
  readonly inputDirectory: string;
  readonly outputDirectory: string;
  readonly workDirectory: string;
  /** Stops the run (POST /interrupt). */
  readonly signal: AbortSignal;
}

type Graph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

/**
 * Runs a validated graph the way ComfyUI does — the output nodes and what they depend on, each
 * node once — with pictures instead of a model: loaders load real files, image-to-video latents
 * start on their start image, samplers "make" frames (a slow push-in from the start frame, or a
 * test pattern from text), and output nodes write a real video of the frames they were given.
 */
export async function executeGraph(graph: Graph, tools: ExecutionTools): Promise<NodeOutputs> {
  const results = new Map<string, Promise<Value[]>>();
  const outputs: NodeOutputs = {};
  const run = (id: string): Promise<Value[]> => {
    let result = results.get(id);
    if (!result) {
      result = runNode(id);
      results.set(id, result);
    }
    return result;
  };
  const input = async (id: string, name: string): Promise<unknown> => {
    const value = graph[id]!.inputs[name];
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'number') return (await run(value[0]))[value[1]];
    return value;
  };
  const runNode = async (id: string): Promise<Value[]> => {
    const node = graph[id]!;
    const get = (name: string) => input(id, name);
    const fail = (message: string, type = 'ValueError') => new ExecutionError(id, node.class_type, type, message);
    const semantics = nodeSemantics[node.class_type];
    const nodeClass = nodeClasses[node.class_type]!;
    // As ComfyUI does, every linked input runs before the node, whether or not the fake uses its value.
    for (const name of Object.keys(node.inputs)) await get(name);
    if (!semantics) return nodeClass.outputs.map(() => ({ kind: 'opaque' }));
    const produced = await semantics({ id, get, fail, tools });
    if (nodeClass.outputNode) {
      outputs[id] = produced as unknown as Record<string, unknown>;
      return [];
    }
    return produced as Value[];
  };
  const outputNodes = Object.keys(graph).filter((id) => nodeClasses[graph[id]!.class_type]?.outputNode);
  for (const id of outputNodes) {
    tools.signal.throwIfAborted();
    await run(id);
  }
  return outputs;
}

interface NodeRun {
  readonly id: string;
  get(name: string): Promise<unknown>;
  fail(message: string, type?: string): ExecutionError;
  readonly tools: ExecutionTools;
}

const asNumber = (value: unknown) => Number(value);
const asFrames = (value: unknown): Frames => {
  const candidate = value as Value | undefined;
  if (candidate?.kind === 'frames') return candidate;
  if (candidate?.kind === 'latent' || candidate?.kind === 'video') return candidate.frames;
  return { kind: 'frames', segments: [] };
};
const frameCount = (frames: Frames) => frames.segments.reduce((sum, segment) => sum + (segment.kind === 'picture' ? 1 : segment.count), 0);

/** What a model makes from `length` frames: image-to-video starts on the start image's last frame. */
function made(start: Frames | null, length: number, width: number, height: number, seed = 0): Latent {
  return { kind: 'latent', frames: { kind: 'frames', segments: [{ kind: 'made', start: start && frameCount(start) > 0 ? start : null, offset: 0, count: length, width, height, seed }] } };
}

/** A sampler's seed goes into the frames it makes. */
function sampled(latent: unknown, seed: number): Latent {
  const frames = asFrames(latent);
  return { kind: 'latent', frames: { kind: 'frames', segments: frames.segments.map((segment) => (segment.kind === 'made' ? { ...segment, seed } : segment)) } };
}

async function uploaded(run: NodeRun, name: unknown): Promise<string> {
  const file = path.join(run.tools.inputDirectory, String(name));
  if (!file.startsWith(run.tools.inputDirectory + path.sep)) throw run.fail(`Invalid file path: ${String(name)}`);
  return file;
}

/** A video's frames at its own rate, or resampled to `forceRate` (VHS_LoadVideo's `force_rate`; 0 = its own). */
async function loadedVideo(run: NodeRun, name: unknown, options: { skip?: number; cap?: number; forceRate?: number } = {}): Promise<Frames> {
  const file = await uploaded(run, name);
  const info = await run.tools.media.probe(file, { signal: run.tools.signal }).catch(() => undefined);
  if (!info?.video) throw run.fail(`${String(name)} is not a video ComfyUI can decode`, 'RuntimeError');
  const fps = options.forceRate && options.forceRate > 0 ? options.forceRate : info.video.fps;
  const total = Math.round(info.video.durationSeconds * fps);
  const skip = options.skip ?? 0;
  const cap = options.cap ?? 0;
  const count = Math.max(0, cap > 0 ? Math.min(cap, total - skip) : total - skip);
  return { kind: 'frames', segments: [{ kind: 'video', file, fps, from: skip, count, width: info.video.width, height: info.video.height }] };
}

/** Frames `from … from+length-1` of a clip. */
function slice(frames: Frames, from: number, length: number): Frames {
  const segments: Segment[] = [];
  let position = 0;
  for (const segment of frames.segments) {
    const count = segment.kind === 'picture' ? 1 : segment.count;
    const start = Math.max(from, position);
    const end = Math.min(from + length, position + count);
    if (start < end) {
      if (segment.kind === 'picture') segments.push(segment);
      else if (segment.kind === 'video') segments.push({ ...segment, from: segment.from + (start - position), count: end - start });
      else segments.push({ ...segment, offset: segment.offset + (start - position), count: end - start });
    }
    position += count;
  }
  return { kind: 'frames', segments };
}

const nodeSemantics: Record<string, (run: NodeRun) => Promise<unknown>> = {
  CLIPTextEncode: async (run) => {
    const text = String(await run.get('text'));
    if (text.includes('[fake:error]')) throw run.fail('Allocation on device', 'torch.OutOfMemoryError');
    return [{ kind: 'conditioning', text }];
  },
  LoadImage: async (run) => [{ kind: 'frames', segments: [{ kind: 'picture', file: await uploaded(run, await run.get('image')) }] }, { kind: 'opaque' }],
  LoadVideo: async (run) => [{ kind: 'video', frames: await loadedVideo(run, await run.get('file')), fps: 24 }],
  GetVideoComponents: async (run) => [asFrames(await run.get('video')), { kind: 'opaque' }, { kind: 'number', value: 24 }],
  VHS_LoadVideo: async (run) => {
    const frames = await loadedVideo(run, await run.get('video'), {
      skip: asNumber(await run.get('skip_first_frames')),
      cap: asNumber(await run.get('frame_load_cap')),
      forceRate: asNumber(await run.get('force_rate')),
    });
    return [frames, { kind: 'number', value: frameCount(frames) }, { kind: 'opaque' }, { kind: 'opaque' }];
  },
  ImageFromBatch: async (run) => [slice(asFrames(await run.get('image')), asNumber(await run.get('batch_index')), asNumber(await run.get('length')))],
  ImageBatch: async (run) => [{ kind: 'frames', segments: [...asFrames(await run.get('image1')).segments, ...asFrames(await run.get('image2')).segments] }],
  WanImageToVideo: async (run) => {
    const start = (await run.get('start_image')) === undefined ? null : asFrames(await run.get('start_image'));
    return [{ kind: 'opaque' }, { kind: 'opaque' }, made(start, asNumber(await run.get('length')), asNumber(await run.get('width')), asNumber(await run.get('height')))];
  },
  Wan22ImageToVideoLatent: async (run) => {
    const start = (await run.get('start_image')) === undefined ? null : asFrames(await run.get('start_image'));
    return [made(start, asNumber(await run.get('length')), asNumber(await run.get('width')), asNumber(await run.get('height')))];
  },
  LTXVImgToVideo: async (run) => [
    { kind: 'opaque' },
    { kind: 'opaque' },
    made(asFrames(await run.get('image')), asNumber(await run.get('length')), asNumber(await run.get('width')), asNumber(await run.get('height'))),
  ],
  EmptyLTXVLatentVideo: async (run) => [made(null, asNumber(await run.get('length')), asNumber(await run.get('width')), asNumber(await run.get('height')))],
  EmptyHunyuanLatentVideo: async (run) => [made(null, asNumber(await run.get('length')), asNumber(await run.get('width')), asNumber(await run.get('height')))],
  VAEEncode: async (run) => [{ kind: 'latent', frames: asFrames(await run.get('pixels')) }],
  KSampler: async (run) => [sampled(await run.get('latent_image'), asNumber(await run.get('seed')))],
  KSamplerAdvanced: async (run) => [sampled(await run.get('latent_image'), asNumber(await run.get('noise_seed')))],
  SamplerCustomAdvanced: async (run) => {
    const latent = sampled(await run.get('latent_image'), 0);
    return [latent, latent];
  },
  LTXVExtendSampler: async (run) => {
    // The video's frames, then `num_new_frames` new ones continuing from its last frame (the overlap is not repeated).
    const source = asFrames(await run.get('latents'));
    const count = asNumber(await run.get('num_new_frames'));
    const last = source.segments.at(-1);
    const size = last && last.kind !== 'picture' ? { width: last.width, height: last.height } : { width: 768, height: 512 };
    const extension: Segment = { kind: 'made', start: source, offset: 1, count, ...size, seed: 0 };
    return [{ kind: 'latent', frames: { kind: 'frames', segments: [...source.segments, extension] } }, { kind: 'opaque' }, { kind: 'opaque' }];
  },
  VAEDecode: async (run) => [asFrames(await run.get('samples'))],
  VAEDecodeTiled: async (run) => [asFrames(await run.get('samples'))],
  CreateVideo: async (run) => [{ kind: 'video', frames: asFrames(await run.get('images')), fps: asNumber(await run.get('fps')) }],
  SaveVideo: async (run) => {
    const video = (await run.get('video')) as Video;
    const file = await writeVideo(run, video.frames, video.fps, String(await run.get('filename_prefix')), 'mp4');
    return { images: [{ filename: path.basename(file), subfolder: path.dirname(path.relative(run.tools.outputDirectory, file)).replace(/^\.$/, ''), type: 'output' }], animated: [true] };
  },
  VHS_VideoCombine: async (run) => {
    const format = String(await run.get('format'));
    const fps = asNumber(await run.get('frame_rate'));
    const file = await writeVideo(run, asFrames(await run.get('images')), fps, String(await run.get('filename_prefix')), format.startsWith('image/') ? 'gif' : 'mp4');
    const subfolder = path.dirname(path.relative(run.tools.outputDirectory, file)).replace(/^\.$/, '');
    return { gifs: [{ filename: path.basename(file), subfolder, type: (await run.get('save_output')) === false ? 'temp' : 'output', format, frame_rate: fps }] };
  },
};

/** Renders frames into a numbered file under the output folder, as ComfyUI names them (`prefix_00001_.mp4`). */
async function writeVideo(run: NodeRun, frames: Frames, fps: number, prefix: string, extension: 'mp4' | 'gif'): Promise<string> {
  const total = frameCount(frames);
  if (total === 0) throw run.fail('no frames to save');
  if (!(fps > 0 && fps <= 120)) throw run.fail(`frame rate ${fps} out of range`);
  const size = outputSize(frames);
  const work = path.join(run.tools.workDirectory, randomUUID());
  await fs.mkdir(work, { recursive: true });
  try {
    const parts: string[] = [];
    for (const [index, segment] of frames.segments.entries()) parts.push(await renderSegment(run, segment, size, fps, path.join(work, `part-${index}.mp4`)));
    const list = path.join(work, 'parts.txt');
    await fs.writeFile(list, parts.map((part) => `file '${part}'`).join('\n'));
    const cleanPrefix = prefix.replace(/[^A-Za-z0-9_/-]/g, '_').replace(/^\/+/, '') || 'ComfyUI';
    const directory = path.join(run.tools.outputDirectory, path.dirname(cleanPrefix));
    await fs.mkdir(directory, { recursive: true });
    const existing = (await fs.readdir(directory)).length;
    const file = path.join(directory, `${path.basename(cleanPrefix)}_${String(existing + 1).padStart(5, '0')}_.${extension}`);
    const encode = extension === 'mp4' ? ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart'] : [];
    await run.tools.media.ffmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-r', String(fps), ...encode, '-y', file], { signal: run.tools.signal });
    return file;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** The size of what a model made (or of the first video): the whole clip is rendered at it. */
function outputSize(frames: Frames): { width: number; height: number } {
  const madeSegment = frames.segments.find((segment) => segment.kind === 'made');
  const sized = madeSegment ?? frames.segments.find((segment) => segment.kind === 'video');
  const size = sized ? { width: sized.width, height: sized.height } : { width: 768, height: 512 };
  return { width: Math.max(16, Math.round(size.width / 2) * 2), height: Math.max(16, Math.round(size.height / 2) * 2) };
}

const encodeSegment = ['-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

async function renderSegment(run: NodeRun, segment: Segment, size: { width: number; height: number }, fps: number, file: string): Promise<string> {
  const { width, height } = size;
  const fit = `scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2,setsar=1`;
  const signal = run.tools.signal;
  if (segment.kind === 'picture') {
    await run.tools.media.ffmpeg(['-loop', '1', '-framerate', String(fps), '-i', segment.file, '-vf', fit, '-frames:v', '1', ...encodeSegment, '-y', file], { signal });
  } else if (segment.kind === 'video') {
    const trim = `fps=${segment.fps},trim=start_frame=${segment.from}:end_frame=${segment.from + segment.count},setpts=N/(${fps}*TB),${fit}`;
    await run.tools.media.ffmpeg(['-i', segment.file, '-vf', trim, '-r', String(fps), '-frames:v', String(segment.count), ...encodeSegment, '-y', file], { signal });
  } else if (segment.start) {
    // Image-to-video: frame 0 is the start's last frame, fitted; then its colours drift (the fake's stand-in for motion) (what a model's motion looks like to Segue).
    const startFrame = path.join(path.dirname(file), `${path.basename(file, '.mp4')}-start.png`);
    await lastFrameOf(run, segment.start, size, fps, startFrame);
    await run.tools.media.ffmpeg(
      ['-loop', '1', '-framerate', String(fps), '-i', startFrame, '-vf', `${fit},hue=H='0.3*t',trim=start_frame=${segment.offset},setpts=PTS-STARTPTS`, '-frames:v', String(segment.count), ...encodeSegment, '-y', file],
      { signal },
    );
  } else {
    const hue = segment.seed % 360;
    await run.tools.media.ffmpeg(
      ['-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`, '-vf', `hue=h=${hue},trim=start_frame=${segment.offset},setpts=PTS-STARTPTS`, '-frames:v', String(segment.count), ...encodeSegment, '-y', file],
      { signal },
    );
  }
  return file;
}

/** The last frame of a clip as a PNG at `size` (rendering the clip's last segment when it is made). */
async function lastFrameOf(run: NodeRun, frames: Frames, size: { width: number; height: number }, fps: number, output: string): Promise<void> {
  const last = frames.segments.at(-1)!;
  if (last.kind === 'picture') {
    await run.tools.media.ffmpeg(['-i', last.file, '-frames:v', '1', '-y', output], { signal: run.tools.signal });
    return;
  }
  const clip = await renderSegment(run, last, size, fps, `${output}.mp4`);
  await run.tools.media.ffmpeg(['-i', clip, '-vf', `select=eq(n\\,${last.count - 1})`, '-vsync', '0', '-frames:v', '1', '-y', output], { signal: run.tools.signal });
}
