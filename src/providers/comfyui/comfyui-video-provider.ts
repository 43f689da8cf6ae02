import fs from 'node:fs/promises';
import { z } from 'zod';
import { MediaError } from '../../domain/errors.js';
import { type AspectRatio, EXTENSION_SECONDS, type Task, type UpstreamOutput } from '../../domain/task.js';
import { nearestAspectRatio } from '../../media/bridge-join.js';
import { frameSize, OUTPUT_FPS } from '../../media/output-format.js';
import {
  type ExtensionSource,
  type ModelCapabilities,
  type ProviderContext,
  ProviderError,
  type ProviderStatus,
  type StartContext,
  type VideoProvider,
} from '../../ports/video-provider.js';
import type { ProviderPluginDependencies } from '../provider-plugin.js';
import { executionFailure, fileReferenceSchema, videoOutput } from './comfyui-api-types.js';
import type { ComfyUiClient } from './comfyui-client.js';
import type { ComfyUiEntry } from './comfyui-entry.js';
import { fillWorkflow, type PlaceholderValues, type WorkflowOperation, type WorkflowTemplate } from './comfyui-workflow.js';

const handleSchema = z.object({ operation: z.string().min(1), workflow: z.enum(['generate', 'image', 'extend']), costUsd: z.number().optional() });

export interface ComfyUiProviderDependencies {
  readonly client: ComfyUiClient;
  readonly workflows: Partial<Record<WorkflowOperation, WorkflowTemplate>>;
  /** This entry's `client_id` on the box. */
  readonly clientId: string;
  readonly plugin: Pick<ProviderPluginDependencies, 'blobs' | 'scratch' | 'fetchMedia' | 'mediaMaxBytes' | 'now'>;
}

/**
 * `{{frames}}` for `seconds` of new video at 24 fps: the new frames plus the one they start from
 * (the start image, or the source's last frame, which the join skips) — 7 s → 169, 8 s → 193:
 * 8k+1 frames as LTX-Video asks and 4k+1 as Wan asks.
 */
export function framesFor(seconds: number): number {
  return Math.round(seconds * OUTPUT_FPS) + 1;
}

/**
 * Open models on a self-hosted ComfyUI: each operation is a workflow template in ComfyUI's API
 * format; `start` uploads the inputs (`POST /upload/image`), fills the template and queues it
 * (`POST /prompt`); `status` follows `GET /history/{prompt_id}` (and `GET /queue` for progress);
 * the video is taken through `GET /view`. An extension continues any video (native, from
 * Segue's copy); the image workflow also continues a video from its last frame (bridge).
 */
export class ComfyUiVideoProvider implements VideoProvider {
  readonly generative = true;
  readonly timeoutMs: number;

  constructor(
    readonly name: string,
    private readonly entry: ComfyUiEntry,
    private readonly deps: ComfyUiProviderDependencies,
  ) {
    this.timeoutMs = entry.timeoutSeconds * 1000;
  }

  capabilities(model: string): ModelCapabilities | undefined {
    if (this.entry.models && !this.entry.models.includes(model)) return undefined;
    const { generate, image, extend } = this.deps.workflows;
    return {
      operations: [...(generate || image ? (['generate'] as const) : []), ...(extend ? (['extend'] as const) : [])],
      modes: [...(generate ? (['text'] as const) : []), ...(image ? (['first_and_last_frames'] as const) : [])],
      extendsFrom: 'any_video',
    };
  }

  async start(task: Task, context: StartContext): Promise<unknown> {
    const workflow = this.workflowFor(task, context.source);
    const template = this.deps.workflows[workflow];
    if (!template) throw new ProviderError(`${this.name} has no ${workflow} workflow`, false, 'internal');
    const values = await this.values(task, workflow, template, context);
    const promptId = await this.deps.client.submit(fillWorkflow(template, values), this.deps.clientId, context.signal);
    const seconds = task.operation === 'extend' ? EXTENSION_SECONDS : task.parameters.durationSeconds;
    const rate = this.entry.pricePerSecond;
    return { operation: promptId, workflow, ...(rate !== undefined ? { costUsd: Math.round(rate * seconds * 10_000) / 10_000 } : {}) };
  }

  async status(handle: unknown, _task: Task, context: ProviderContext): Promise<ProviderStatus> {
    const { operation: promptId } = handleSchema.parse(handle);
    let entry = await this.deps.client.history(promptId, context.signal);
    if (!entry) {
      const place = await this.deps.client.queuePlace(promptId, context.signal);
      if (place === 'running') return { state: 'pending', progress: 50 };
      if (place === 'pending') return { state: 'pending', progress: 5 };
      // Finished between the two reads, or forgotten (the box restarted): the history decides.
      entry = await this.deps.client.history(promptId, context.signal);
      if (!entry) return { state: 'failed', reason: 'generation_failed', message: `ComfyUI no longer knows prompt ${promptId} (was the server restarted?)`, isRetryable: false };
    }
    const failure = executionFailure(entry);
    if (failure) return { state: 'failed', reason: 'generation_failed', message: `ComfyUI: ${failure}`.slice(0, 1000), isRetryable: false };
    if (entry.status && entry.status.completed === false) return { state: 'pending', progress: 90 };
    const video = videoOutput(entry);
    if (!video) {
      return { state: 'failed', reason: 'generation_failed', message: 'ComfyUI finished the workflow without a video output (end it with SaveVideo or VHS_VideoCombine writing an MP4)', isRetryable: false };
    }
    return { state: 'output_ready', output: { uri: this.deps.client.viewUrl(video), createdAt: this.deps.plugin.now() } };
  }

  async download(output: UpstreamOutput, destination: string, context: ProviderContext): Promise<void> {
    const url = new URL(output.uri);
    if (url.origin !== new URL(this.entry.baseUrl).origin) throw new ProviderError('the video is not on the configured ComfyUI server', false);
    const file = fileReferenceSchema.safeParse(Object.fromEntries(url.searchParams));
    if (!file.success) throw new ProviderError('the output link names no file', false);
    await this.deps.client.download(file.data, destination, context.signal);
  }

  /** Takes a queued prompt off the box, or interrupts it while it runs. */
  async cancel(handle: unknown, signal: AbortSignal): Promise<void> {
    await this.deps.client.cancel(handleSchema.parse(handle).operation, signal);
  }

  pollDelayMs(elapsedMs: number): number {
    return (elapsedMs <= 0 ? this.entry.firstPollSeconds : this.entry.pollSeconds) * 1000;
  }

  /** Text → generate; an image → image; an extension → extend, or image from the last frame when it runs as a bridge. */
  private workflowFor(task: Task, source: ExtensionSource | undefined): WorkflowOperation {
    if (task.operation === 'extend') return source?.bridge ? 'image' : 'extend';
    if (task.operation !== 'generate') throw new ProviderError(`${this.name} does not run ${task.operation}`, false, 'internal');
    return task.parameters.mode === 'text' ? 'generate' : 'image';
  }

  private async values(task: Task, workflow: WorkflowOperation, template: WorkflowTemplate, context: StartContext): Promise<PlaceholderValues> {
    const { parameters } = task;
    const extending = task.operation === 'extend';
    const aspectRatio = this.aspectRatioFor(task, context.source);
    const { width, height } = frameSize(aspectRatio, extending ? '720p' : parameters.resolution);
    const values: PlaceholderValues = {
      prompt: parameters.prompt,
      negative_prompt: parameters.negativePrompt ?? this.entry.defaultNegativePrompt,
      seed: task.seed,
      width,
      height,
      frames: framesFor(extending ? EXTENSION_SECONDS : parameters.durationSeconds),
    };
    if (workflow === 'image' && template.uses.has('image')) values.image = await this.uploadImage(task, context);
    if (workflow === 'extend' && template.uses.has('video')) values.video = await this.uploadSource(task, context);
    return values;
  }

  private aspectRatioFor(task: Task, source: ExtensionSource | undefined): AspectRatio {
    if (source?.bridge) return source.bridge.aspectRatio;
    const result = task.operation === 'extend' ? source?.task?.result : undefined;
    if (result) return nearestAspectRatio(result);
    return task.parameters.aspectRatio === 'auto' ? '16:9' : task.parameters.aspectRatio;
  }

  /** The start picture: a bridge's last source frame, or the request's image (fetched like any user media). */
  private async uploadImage(task: Task, context: StartContext): Promise<string> {
    const bridge = context.source?.bridge;
    if (bridge) return this.deps.client.upload(`segue-${task.id}-start.png`, bridge.frame.bytes, bridge.frame.mimeType, context.signal);
    const [first, ...rest] = task.parameters.imageUrls;
    if (!first) throw new ProviderError('the image workflow needs an image', false, 'input_unusable');
    if (rest.length > 0) throw new ProviderError(`${this.name}'s image workflow starts from one image; it takes no last frame or further images`, false, 'input_unusable');
    const bytes = await this.fetched('image', first, Math.min(this.deps.plugin.mediaMaxBytes, 20 * 1024 * 1024), context.signal);
    const type = pictureType(bytes);
    if (!type) throw new ProviderError('the image is not a PNG, JPEG or WebP picture', false, 'input_unusable');
    return this.deps.client.upload(`segue-${task.id}-start.${type.extension}`, bytes, type.mimeType, context.signal);
  }

  /** The video an extension continues: Segue's copy (a task's result or an upload), or the link it came from. */
  private async uploadSource(task: Task, context: StartContext): Promise<string> {
    const key = context.source?.task?.result?.videoKey ?? task.parameters.sourceVideoKey;
    let bytes: Buffer;
    if (key) {
      const file = await this.deps.plugin.scratch.pathForRequest('comfyui-source');
      try {
        if (!(await this.deps.plugin.blobs.copyToFile(key, file))) throw new ProviderError('the source video is no longer available', false, 'input_unusable');
        bytes = await fs.readFile(file);
      } finally {
        await fs.rm(file, { force: true });
      }
    } else if (task.parameters.sourceVideoUrl) {
      bytes = await this.fetched('video', task.parameters.sourceVideoUrl, this.deps.plugin.mediaMaxBytes, context.signal);
    } else {
      throw new ProviderError('the extension has no source video', false, 'input_unusable');
    }
    return this.deps.client.upload(`segue-${task.id}-source.mp4`, bytes, 'video/mp4', context.signal);
  }

  private async fetched(what: string, url: string, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
    const file = await this.deps.plugin.scratch.pathForRequest(`comfyui-${what}`);
    try {
      await this.deps.plugin.fetchMedia(url, file, { maxBytes, signal });
      return await fs.readFile(file);
    } catch (error) {
      if (error instanceof MediaError) throw new ProviderError(`the ${what} could not be fetched: ${error.message}`, false, 'input_unusable');
      throw error;
    } finally {
      await fs.rm(file, { force: true });
    }
  }
}

function pictureType(bytes: Buffer): { mimeType: string; extension: string } | undefined {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return { mimeType: 'image/png', extension: 'png' };
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return { mimeType: 'image/jpeg', extension: 'jpg' };
  if (bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return { mimeType: 'image/webp', extension: 'webp' };
  return undefined;
}
