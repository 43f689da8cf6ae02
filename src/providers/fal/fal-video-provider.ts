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
import type { FalEntry, FalPricePerSecond } from './fal-entry.js';
import { type FalClient, describeFalError, falFailureReason } from './fal-client.js';
import { billedSeconds, falRequest } from './fal-request.js';

/** What `start` stores on the task: fal's URLs, kept verbatim. */
const handleSchema = z.object({
  operation: z.string(),
  model: z.string(),
  statusUrl: z.string(),
  responseUrl: z.string(),
  cancelUrl: z.string().nullable(),
  costUsd: z.number().optional(),
});

type FalHandle = z.infer<typeof handleSchema>;

export interface FalProviderDependencies {
  readonly client: FalClient;
  /** The webhook URL fal should call for a task, when webhooks are on. */
  readonly webhookUrlFor: ((taskId: string) => string) | null;
  /**
   * Why fal cannot fetch a link to Segue's copy (Segue's public URL is loopback), or undefined:
   * then the native route is refused and extensions go by bridge.
   */
  readonly linkRefusal: string | undefined;
  /** Who the upstream sees: a short fingerprint of the key (tasks are pinned to it; never the key). */
  readonly credentialIdentity: string;
  readonly now?: () => number;
  readonly random?: () => number;
}

interface ModelSpec extends VeoModelSpec {
  readonly pricePerSecond: FalPricePerSecond | undefined;
}

/**
 * Veo 3.1 on fal's queue, one account (provider entry) per instance. `start` submits and keeps
 * the `status_url`, `response_url` and `cancel_url` fal answers (verbatim: they lack the
 * subpath); `status` reads the status, and once COMPLETED the result, whose video link is taken
 * into custody at once. fal extends any video from a link, so extensions are native from
 * Segue's signed copy (or by bridge, through image-to-video, when fal cannot reach Segue).
 */
export class FalVideoProvider implements VideoProvider {
  readonly timeoutMs: number;
  readonly generative = true;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    readonly name: string,
    private readonly entry: FalEntry,
    private readonly deps: FalProviderDependencies,
  ) {
    this.timeoutMs = entry.timeoutSeconds * 1000;
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  capabilities(model: string): ModelCapabilities | undefined {
    const spec = this.model(model);
    if (!spec) return undefined;
    return veoCapabilities(spec, { nativeExtension: true, extendsFrom: 'any_video' });
  }

  linkExtensionRefusal(): string | undefined {
    return this.deps.linkRefusal;
  }

  async start(task: Task, context: StartContext): Promise<unknown> {
    const spec = this.model(task.parameters.model);
    if (!spec) throw new ProviderError(`${this.name} has no model for ${task.parameters.model}`, false, 'internal');
    const bridge = task.operation === 'extend' ? context.source?.bridge : undefined;
    let videoUrl: string | null = null;
    if (task.operation === 'extend' && !bridge) {
      if (this.deps.linkRefusal) throw new ProviderError(`This video cannot be extended natively on ${this.name}: ${this.deps.linkRefusal}`, false, 'input_unusable');
      videoUrl = context.source?.link ?? task.parameters.sourceVideoUrl;
      if (!videoUrl) throw new ProviderError(`This video cannot be extended on ${this.name}: there is no link to its source`, false, 'input_unusable');
    }
    const request = falRequest(task, {
      videoUrl,
      bridgeImage: bridge ? { dataUri: `data:${bridge.frame.mimeType};base64,${bridge.frame.bytes.toString('base64')}`, aspectRatio: bridge.aspectRatio } : null,
    });
    const endpoint = `${spec.id}${request.subpath}`;
    const webhookUrl = this.deps.webhookUrlFor?.(task.id) ?? null;
    const submitted = await this.deps.client.submit(endpoint, request.input, webhookUrl, context.signal);
    const rate = spec.pricePerSecond;
    const perSecond = rate ? (request.input.generate_audio ? rate.audio : (rate.silent ?? rate.audio)) : undefined;
    const handle: FalHandle = {
      operation: submitted.request_id,
      model: endpoint,
      statusUrl: submitted.status_url,
      responseUrl: submitted.response_url,
      cancelUrl: submitted.cancel_url ?? null,
      ...(perSecond !== undefined ? { costUsd: Math.round(perSecond * billedSeconds(request.input) * 10_000) / 10_000 } : {}),
    };
    return handle;
  }

  async status(raw: unknown, task: Task, context: ProviderContext): Promise<ProviderStatus> {
    const handle = handleSchema.parse(raw);
    const status = await this.deps.client.status(handle.statusUrl, context.signal);
    if (status.status === 'IN_QUEUE') return this.stillQueued(handle, task, context);
    // fal gives no finer figure than "started".
    if (status.status === 'IN_PROGRESS') return { state: 'pending', progress: 50 };
    if (status.error) {
      const message = this.deps.client.scrub(`fal: ${[status.error_type, status.error].filter(Boolean).join(': ')}`.slice(0, 500));
      return { state: 'failed', reason: 'generation_failed', message, isRetryable: false };
    }
    const result = await this.deps.client.result(handle.responseUrl, context.signal);
    if (result.kind === 'video') return { state: 'output_ready', output: { uri: result.url, createdAt: this.now() } };
    const message = this.deps.client.scrub(`fal ${result.statusCode}: ${describeFalError(result.body)}`.slice(0, 500));
    return { state: 'failed', reason: falFailureReason(result.body), message, isRetryable: false };
  }

  async download(output: UpstreamOutput, destination: string, context: ProviderContext): Promise<void> {
    await this.deps.client.download(output.uri, destination, context.signal);
  }

  /** First poll after `firstPollSeconds`; then `pollSeconds` ± a third, jittered so polls spread out. */
  pollDelayMs(elapsedMs: number): number {
    return jitteredPollDelayMs(this.entry, elapsedMs, this.random);
  }

  /**
   * Still waiting for a runner. Past `queueTimeoutSeconds` the request is cancelled — fal takes a
   * cancellation only before a request starts, and bills nothing then — and the task fails, its
   * credits released. A request that started meanwhile goes on.
   */
  private async stillQueued(handle: FalHandle, task: Task, context: ProviderContext): Promise<ProviderStatus> {
    const waitedMs = this.now() - (task.startedAt ?? task.createdAt);
    if (waitedMs <= this.entry.queueTimeoutSeconds * 1000 || !handle.cancelUrl) return { state: 'pending', progress: 0 };
    if (!(await this.deps.client.cancel(handle.cancelUrl, context.signal))) return { state: 'pending', progress: 0 };
    return {
      state: 'failed',
      reason: 'timeout',
      message: `fal did not start the request within ${this.entry.queueTimeoutSeconds} s; it was cancelled before it started (not billed)`,
      isRetryable: false,
    };
  }

  pinning(model: string): ProviderPinning | undefined {
    const spec = this.model(model);
    return spec && { credential: this.deps.credentialIdentity, region: null, upstreamModel: spec.id };
  }

  private model(model: string): ModelSpec | undefined {
    const configured = this.entry.models[model];
    const spec = veoModelSpec(configured);
    return spec && { ...spec, pricePerSecond: (typeof configured === 'object' ? configured.pricePerSecond : undefined) ?? this.entry.pricePerSecond };
  }
}
