import { jitteredPollDelayMs } from '../poll-schedule.js';
import { z } from 'zod';
import type { GenerationMode, Operation, Task, UpstreamOutput } from '../../domain/task.js';
import {
  type ModelCapabilities,
  type ProviderContext,
  ProviderError,
  type ProviderStatus,
  type StartContext,
  type VideoProvider,
} from '../../ports/video-provider.js';
import { frameReference } from '../public-link-reach.js';
import type { DialectUpstreamClient } from '../dialect-upstream-client.js';
import { createdSchema, errorBodySchema, generationIdSchema, generationSchema } from './universal-dialect-api-types.js';
import type { UniversalDialectEntry } from './universal-dialect-entry.js';
import { universalBridgeRequest, universalExtendRequest, universalGenerateRequest, type UniversalRequest } from './universal-dialect-request.js';

/** What is stored on the task: the service's generation id (`operation`) and the model id it ran. */
const handleSchema = z.object({ operation: generationIdSchema, model: z.string() });

/** Statuses that mean the service is still working (its SDK polls only while it sees these). */
const pendingStatuses = new Set(['queued', 'generating', 'processing', 'in_progress', 'waiting', 'active']);
const doneStatuses = new Set(['completed', 'complete', 'succeeded', 'success']);

export interface UniversalDialectProviderDependencies {
  readonly client: DialectUpstreamClient;
  /** Why the service cannot fetch Segue's links (a loopback public URL), or undefined. */
  readonly linkRefusal?: string;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * An AIML-style universal video service as an upstream. Generations go to the model id of their
 * kind; an extension of any video goes by link (`video_url` = a signed link to Segue's copy), or by
 * bridge (the last frame to the image-to-video model) where the entry allows only that.
 */
export class UniversalDialectProvider implements VideoProvider {
  readonly generative = true;
  readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    readonly name: string,
    private readonly entry: UniversalDialectEntry,
    private readonly deps: UniversalDialectProviderDependencies,
  ) {
    this.timeoutMs = entry.timeoutSeconds * 1000;
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  capabilities(model: string): ModelCapabilities | undefined {
    const models = this.entry.models[model];
    if (!models) return undefined;
    const modes: GenerationMode[] = [];
    if (models.text) modes.push('text');
    if (models.image || models.firstLast) modes.push('first_and_last_frames');
    if (models.reference) modes.push('reference_images');
    const operations: Operation[] = [...(modes.length > 0 ? (['generate'] as const) : []), ...(models.extend ? (['extend'] as const) : [])];
    // Any video: the service fetches it from a link. Without an extension model, only a bridge extends here.
    return { operations, modes, extendsFrom: 'any_video' };
  }

  /** An extension by link needs the service to reach Segue's public URL; else a bridge (its frame as a data: URI). */
  linkExtensionRefusal(): string | undefined {
    return this.deps.linkRefusal;
  }

  async start(task: Task, context: StartContext): Promise<unknown> {
    const models = this.entry.models[task.parameters.model];
    if (!models) throw new ProviderError(`${this.name} has no model for ${task.parameters.model}`, false, 'internal');
    const request = this.request(task, context);
    if ('refusal' in request) throw new ProviderError(`${this.name} cannot run this: ${request.refusal}`, false, 'input_unusable');
    const answer = await this.deps.client.call('POST', '/v2/video/generations', context.signal, request.body);
    if (answer.statusCode !== 200 && answer.statusCode !== 201) throw this.refusal(answer);
    const created = createdSchema.safeParse(answer.json);
    if (!created.success) throw new ProviderError(`${this.name} answered the create call without a generation id`, true);
    return { operation: created.data.generation_id ?? created.data.id!, model: request.body.model };
  }

  async status(stored: unknown, _task: Task, context: ProviderContext): Promise<ProviderStatus> {
    const { operation } = handleSchema.parse(stored);
    const answer = await this.deps.client.call('GET', `/v2/video/generations?generation_id=${encodeURIComponent(operation)}`, context.signal);
    if (answer.statusCode === 404) return { state: 'failed', reason: 'generation_failed', message: `${this.name} no longer knows the generation`, isRetryable: false };
    if (answer.statusCode !== 200) throw this.refusal(answer);
    const parsed = generationSchema.safeParse(answer.json);
    if (!parsed.success) throw new ProviderError(`${this.name} answered the poll with an unexpected shape`, true);
    const generation = parsed.data;
    const status = generation.status.toLowerCase();
    const url = generation.video?.url;
    if (doneStatuses.has(status)) {
      if (url) return { state: 'output_ready', output: { uri: url, createdAt: this.now() } };
      return { state: 'failed', reason: 'generation_failed', message: `${this.name} finished without a video`, isRetryable: false };
    }
    if (pendingStatuses.has(status)) return { state: 'pending' };
    const detail = generation.error?.message ?? generation.error?.name ?? status;
    return { state: 'failed', reason: 'generation_failed', message: this.deps.client.scrub(`${this.name}: ${detail}`).slice(0, 500), isRetryable: false };
  }

  async download(output: UpstreamOutput, destination: string, context: ProviderContext): Promise<void> {
    await this.deps.client.download(output.uri, destination, context.signal);
  }

  pollDelayMs(elapsedMs: number): number {
    return jitteredPollDelayMs(this.entry, elapsedMs, this.random);
  }

  private request(task: Task, context: StartContext): UniversalRequest {
    const models = this.entry.models[task.parameters.model]!;
    if (task.operation === 'generate') return universalGenerateRequest(task, models);
    if (task.operation !== 'extend') return { refusal: `${task.operation} does not run here` };
    const bridge = context.source?.bridge;
    if (bridge) return universalBridgeRequest(task, models, frameReference(bridge, this.deps.linkRefusal), bridge.aspectRatio);
    if (this.deps.linkRefusal) return { refusal: this.deps.linkRefusal };
    const link = context.source?.link ?? task.parameters.sourceVideoUrl;
    return link ? universalExtendRequest(task, models, link) : { refusal: 'the source video has no link' };
  }

  /** A refused call: the service's own message (NestJS body), retryable for 429 and 5xx. */
  private refusal(answer: { statusCode: number; json: unknown; retryAfterMs: number | undefined }): ProviderError {
    const body = errorBodySchema.safeParse(answer.json);
    const message = body.success ? [body.data.message].flat().join('; ') : `HTTP ${answer.statusCode}`;
    return this.deps.client.refusal(answer.statusCode, message, answer.retryAfterMs);
  }
}

