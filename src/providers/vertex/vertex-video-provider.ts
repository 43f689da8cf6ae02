import { jitteredPollDelayMs } from '../poll-schedule.js';
import { z } from 'zod';
import type { Task, UpstreamOutput } from '../../domain/task.js';
import {
  type ModelCapabilities,
  type ProviderContext,
  ProviderError,
  type ProviderPinning,
  type ProviderStatus,
  type StartContext,
  type VideoProvider,
} from '../../ports/video-provider.js';
import { veoCapabilities, type VeoModelSpec, veoModelSpec } from '../veo-models.js';
import { INLINE_OUTPUT_PREFIX, operationLocation, operationNamePattern, type VertexMedia } from './vertex-api-types.js';
import type { VertexClient } from './vertex-client.js';
import { VERTEX_MAX_EXTEND_SOURCE_SECONDS, type VertexEntry } from './vertex-entry.js';
import { vertexCreateBody } from './vertex-request.js';

const handleSchema = z.object({ operation: z.string().regex(operationNamePattern), model: z.string() });

export interface VertexProviderDependencies {
  readonly client: VertexClient;
  /** Fetches a user's image (SSRF-guarded, size-capped) and inlines it. */
  readonly fetchImage: (url: string, signal: AbortSignal) => Promise<{ bytesBase64Encoded: string; mimeType: string }>;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * Veo 3.1 on Vertex AI, one project (and service account) per entry. `start` creates the
 * long-running operation in the entry's location; `status` polls it with `fetchPredictOperation`
 * and, once done, answers `output_ready` with the result's `gs://` object or a reference to the
 * inline bytes, which custody reads with the same credential and model.
 */
export class VertexVideoProvider implements VideoProvider {
  readonly timeoutMs: number;
  readonly generative = true;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    readonly name: string,
    private readonly entry: VertexEntry,
    private readonly deps: VertexProviderDependencies,
  ) {
    this.timeoutMs = entry.timeoutSeconds * 1000;
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  capabilities(model: string): ModelCapabilities | undefined {
    const spec = this.model(model);
    if (!spec) return undefined;
    return veoCapabilities(spec, { nativeExtension: true, extendsFrom: 'own_output' });
  }

  pinning(model: string): ProviderPinning | undefined {
    const spec = this.model(model);
    return spec && { credential: this.deps.client.tokens.clientEmail, region: this.entry.location, upstreamModel: spec.id };
  }

  /** Vertex extends videos Veo made here: 1–30 s, 24 fps, 16:9 or 9:16, 720p (1080p when the entry allows). */
  nativeExtensionRefusal(source: Task, model: string): string | undefined {
    if (!this.model(model)?.extend) return `model ${model} cannot extend videos on ${this.name}`;
    if (source.provider !== this.name || !source.upstreamOutput) return `the video was not made on ${this.name}`;
    const pinned = source.pinning;
    if (pinned && pinned.credential !== this.deps.client.tokens.clientEmail) return `the video was made as ${pinned.credential}, and ${this.name} now signs in as another account`;
    if (pinned && pinned.region !== this.entry.location) return `the video was made in ${pinned.region}, and ${this.name} now runs in ${this.entry.location}`;
    const result = source.result;
    if (!result) return 'the video has no result';
    const shortSide = Math.min(result.width, result.height);
    if (shortSide !== 720 && !(this.entry.extendFrom1080p && shortSide === 1080)) return `only ${this.entry.extendFrom1080p ? '720p and 1080p' : '720p'} videos can be extended natively on ${this.name}`;
    const ratio = result.width / result.height;
    if (Math.abs(ratio - 16 / 9) > 0.02 && Math.abs(ratio - 9 / 16) > 0.01) return 'only 16:9 and 9:16 videos can be extended natively';
    if (result.durationSeconds > VERTEX_MAX_EXTEND_SOURCE_SECONDS + 0.5) return `Vertex extends videos up to ${VERTEX_MAX_EXTEND_SOURCE_SECONDS} s`;
    return undefined;
  }

  async start(task: Task, context: StartContext): Promise<unknown> {
    const spec = this.model(task.parameters.model);
    if (!spec) throw new ProviderError(`${this.name} has no model for ${task.parameters.model}`, false, 'internal');
    const storageUri = this.entry.storageUri ?? null;
    const bridge = task.operation === 'extend' ? context.source?.bridge : undefined;
    let body;
    if (bridge) {
      // A bridge: image-to-video from the source's last frame, 8 s at the model's nearest ratio.
      const asImageToVideo: Task = {
        ...task,
        operation: 'generate',
        parameters: { ...task.parameters, mode: 'first_and_last_frames', aspectRatio: bridge.aspectRatio, durationSeconds: 8, resolution: '720p', imageUrls: [] },
      };
      const frame = { bytesBase64Encoded: bridge.frame.bytes.toString('base64'), mimeType: bridge.frame.mimeType };
      body = vertexCreateBody(asImageToVideo, { images: [frame], sourceVideo: null, storageUri });
    } else if (task.operation === 'extend') {
      const source = context.source?.task ?? null;
      const refusal = source ? this.nativeExtensionRefusal(source, task.parameters.model) : 'the source video is unknown';
      if (refusal || !source?.upstreamOutput || !source.result) throw new ProviderError(`This video cannot be extended on ${this.name}: ${refusal}`, false, 'input_unusable');
      const sourceVideo = await this.sourceVideo(source.upstreamOutput, context.signal);
      const extensionResolution = Math.min(source.result.width, source.result.height) === 1080 ? '1080p' : '720p';
      body = vertexCreateBody(task, { images: [], sourceVideo, storageUri, extensionResolution });
    } else {
      const images: VertexMedia[] = [];
      for (const url of task.parameters.imageUrls) images.push(await this.deps.fetchImage(url, context.signal));
      body = vertexCreateBody(task, { images, sourceVideo: null, storageUri });
    }
    try {
      const operation = await this.deps.client.create(spec.id, body, context.signal);
      return { operation, model: spec.id };
    } catch (error) {
      if (error instanceof ProviderError && / 404 /.test(error.message)) {
        throw new ProviderError(`${error.message} (model ${spec.id} in ${this.entry.location}: if Vertex retired it, map ${task.parameters.model} to a current id and list the old one in retiredModelIds)`, false);
      }
      throw error;
    }
  }

  async status(handle: unknown, _task: Task, context: ProviderContext): Promise<ProviderStatus> {
    const { operation } = handleSchema.parse(handle);
    const answer = await this.deps.client.operation(operation, context.signal);
    if (!answer.done) return { state: 'pending' };
    if (answer.error) {
      const message = this.deps.client.scrub(answer.error.message ?? `error ${answer.error.code ?? 'unknown'}`);
      return { state: 'failed', reason: 'generation_failed', message: `Vertex: ${message}`.slice(0, 500), isRetryable: false };
    }
    const response = answer.response;
    const videos = response?.videos ?? [];
    const index = videos.findIndex((video) => video.gcsUri || video.bytesBase64Encoded);
    if (index >= 0) {
      const video = videos[index]!;
      const uri = video.gcsUri ?? `${INLINE_OUTPUT_PREFIX}${operation}#${index}`;
      return { state: 'output_ready', output: { uri, createdAt: this.now() } };
    }
    if ((response?.raiMediaFilteredCount ?? 0) > 0) {
      const reasons = (response?.raiMediaFilteredReasons ?? []).join('; ');
      return { state: 'failed', reason: 'content_policy', message: `Vertex filtered the video${reasons ? `: ${reasons}` : ''}`.slice(0, 500), isRetryable: false };
    }
    return { state: 'failed', reason: 'generation_failed', message: 'Vertex finished without a video', isRetryable: false };
  }

  async download(output: UpstreamOutput, destination: string, context: ProviderContext): Promise<void> {
    if (output.uri.startsWith('gs://')) return this.deps.client.downloadObject(output.uri, destination, context.signal);
    await this.deps.client.writeInline(await this.inlineBytes(output.uri, context.signal), destination);
  }

  /** First poll after `firstPollSeconds`; then `pollSeconds` ± a third, jittered so polls spread out. */
  pollDelayMs(elapsedMs: number): number {
    return jitteredPollDelayMs(this.entry, elapsedMs, this.random);
  }

  /** The source of a native extension as Vertex takes it: its `gs://` object, or its bytes (Vertex's original, unwatermarked). */
  private async sourceVideo(output: UpstreamOutput, signal: AbortSignal): Promise<VertexMedia> {
    if (output.uri.startsWith('gs://')) return { gcsUri: output.uri, mimeType: 'video/mp4' };
    return { bytesBase64Encoded: await this.inlineBytes(output.uri, signal), mimeType: 'video/mp4' };
  }

  /** Inline bytes are read again from their operation: the model and location it names, the entry's credential. */
  private async inlineBytes(uri: string, signal: AbortSignal): Promise<string> {
    const match = /^vertex-inline:(.+)#(\d+)$/.exec(uri);
    if (!match || !operationNamePattern.test(match[1]!)) throw new ProviderError('not a Vertex output reference', false);
    if (operationLocation(match[1]!) !== this.entry.location) throw new ProviderError(`the video was made in ${operationLocation(match[1]!)}, not in ${this.entry.location}`, false);
    const answer = await this.deps.client.operation(match[1]!, signal);
    const bytes = answer.response?.videos?.[Number(match[2])]?.bytesBase64Encoded;
    if (!bytes) throw new ProviderError('Vertex no longer holds the video bytes', false);
    return bytes;
  }

  private model(model: string): VeoModelSpec | undefined {
    return veoModelSpec(this.entry.models[model]);
  }
}
