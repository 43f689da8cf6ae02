import { jitteredPollDelayMs } from '../poll-schedule.js';
import { z } from 'zod';
import { MAX_SOURCE_SECONDS, type Task, type UpstreamOutput } from '../../domain/task.js';
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
import type { GeminiEntry } from './gemini-entry.js';
import type { GeminiImage } from './gemini-api-types.js';
import type { GeminiClient } from './gemini-client.js';
import { geminiCreateBody } from './gemini-request.js';

const handleSchema = z.object({ operation: z.string(), model: z.string() });

export interface GeminiProviderDependencies {
  readonly client: GeminiClient;
  /** Fetches a user's image (SSRF-guarded, size-capped) and inlines it. */
  readonly fetchImage: (url: string, signal: AbortSignal) => Promise<GeminiImage>;
  /** Where Gemini should announce finished videos, when provider webhooks are on. */
  readonly webhookUrl: string | null;
  /** Who Gemini sees: a short fingerprint of the API key (tasks are pinned to it; never the key). */
  readonly credentialIdentity: string;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * Veo 3.1 on the Gemini API, one account (provider entry) per instance. `start` creates the
 * long-running operation; `status` polls it and, once done, answers `output_ready` with the
 * file uri, which Segue downloads at once (Google keeps it two days).
 */
export class GeminiVideoProvider implements VideoProvider {
  readonly timeoutMs: number;
  readonly generative = true;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    readonly name: string,
    private readonly entry: GeminiEntry,
    private readonly deps: GeminiProviderDependencies,
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
    return spec && { credential: this.deps.credentialIdentity, region: null, upstreamModel: spec.id };
  }

  nativeExtensionRefusal(source: Task, model: string, now: number): string | undefined {
    if (!this.model(model)?.extend) return `model ${model} cannot extend videos on ${this.name}`;
    if (source.provider !== this.name || !source.upstreamOutput) return `the video was not made on ${this.name}`;
    // Google's files belong to the key's project: another key cannot extend them.
    if (source.pinning && source.pinning.credential !== this.deps.credentialIdentity) return `the video was made with another API key (${source.pinning.credential}) than ${this.name} uses now`;
    const result = source.result;
    if (!result) return 'the video has no result';
    if (Math.min(result.width, result.height) !== 720) return 'only 720p videos can be extended natively';
    const ratio = result.width / result.height;
    if (Math.abs(ratio - 16 / 9) > 0.02 && Math.abs(ratio - 9 / 16) > 0.01) return 'only 16:9 and 9:16 videos can be extended natively';
    if (result.durationSeconds > MAX_SOURCE_SECONDS + 0.5) return `only videos up to ${MAX_SOURCE_SECONDS} s can be extended`;
    const ageSeconds = (now - source.upstreamOutput.createdAt) / 1000;
    if (ageSeconds > this.entry.nativeExtensionMaxAgeSeconds) return `the upstream copy is ${Math.round(ageSeconds / 3600)} h old and no longer held`;
    return undefined;
  }

  async start(task: Task, context: StartContext): Promise<unknown> {
    const spec = this.model(task.parameters.model);
    if (!spec) throw new ProviderError(`${this.name} has no model for ${task.parameters.model}`, false, 'internal');
    const webhook = this.deps.webhookUrl ? { url: this.deps.webhookUrl } : null;
    const bridge = task.operation === 'extend' ? context.source?.bridge : undefined;
    let body;
    if (bridge) {
      // A bridge: image-to-video from the source's last frame, 8 s at the model's nearest ratio.
      const asImageToVideo: Task = {
        ...task,
        operation: 'generate',
        parameters: { ...task.parameters, mode: 'first_and_last_frames', aspectRatio: bridge.aspectRatio, durationSeconds: 8, resolution: '720p', imageUrls: [] },
      };
      body = geminiCreateBody(asImageToVideo, { images: [{ bytesBase64Encoded: bridge.frame.bytes.toString('base64'), mimeType: bridge.frame.mimeType }], sourceVideoUri: null, webhook });
    } else {
      const sourceVideoUri = task.operation === 'extend' ? this.nativeSource(task, context.source?.task ?? null) : null;
      const images: GeminiImage[] = [];
      for (const url of task.operation === 'generate' ? task.parameters.imageUrls : []) {
        images.push(await this.deps.fetchImage(url, context.signal));
      }
      body = geminiCreateBody(task, { images, sourceVideoUri, webhook });
    }
    const operation = await this.deps.client.create(spec.id, body, context.signal);
    return { operation, model: spec.id };
  }

  async status(handle: unknown, _task: Task, context: ProviderContext): Promise<ProviderStatus> {
    const { operation } = handleSchema.parse(handle);
    const answer = await this.deps.client.operation(operation, context.signal);
    if (!answer.done) return { state: 'pending' };
    if (answer.error) {
      const message = this.deps.client.scrub(answer.error.message ?? `error ${answer.error.code ?? 'unknown'}`);
      return { state: 'failed', reason: 'generation_failed', message: `Gemini: ${message}`, isRetryable: false };
    }
    const response = answer.response?.generateVideoResponse;
    const uri = response?.generatedSamples?.find((sample) => sample.video?.uri)?.video?.uri;
    if (uri) return { state: 'output_ready', output: { uri, createdAt: this.now() } };
    if ((response?.raiMediaFilteredCount ?? 0) > 0) {
      const reasons = (response?.raiMediaFilteredReasons ?? []).join('; ');
      return { state: 'failed', reason: 'content_policy', message: `Gemini filtered the video${reasons ? `: ${reasons}` : ''}`, isRetryable: false };
    }
    return { state: 'failed', reason: 'generation_failed', message: 'Gemini finished without a video', isRetryable: false };
  }

  async download(output: UpstreamOutput, destination: string, context: ProviderContext): Promise<void> {
    await this.deps.client.download(output.uri, destination, context.signal);
  }

  /** First poll after `firstPollSeconds`; then `pollSeconds` ± a third, jittered so polls spread out. */
  pollDelayMs(elapsedMs: number): number {
    return jitteredPollDelayMs(this.entry, elapsedMs, this.random);
  }

  private model(model: string): VeoModelSpec | undefined {
    return veoModelSpec(this.entry.models[model]);
  }

  /** The Gemini uri an extension continues; refused (not paid for) if it no longer qualifies. */
  private nativeSource(task: Task, source: Task | null): string {
    const refusal = source ? this.nativeExtensionRefusal(source, task.parameters.model, this.now()) : 'the source video is unknown';
    if (refusal || !source?.upstreamOutput) throw new ProviderError(`This video cannot be extended on ${this.name}: ${refusal}`, false, 'input_unusable');
    return source.upstreamOutput.uri;
  }
}
