import { jitteredPollDelayMs } from '../poll-schedule.js';
import { z } from 'zod';
import type { FailureReason, Task, UpstreamOutput } from '../../domain/task.js';
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
import { createdSchema, envelopeSchema, fullHdSchema, type RecordInfo, recordInfoSchema, upstreamTaskIdSchema } from './veo-dialect-api-types.js';
import type { VeoDialectEntry } from './veo-dialect-entry.js';
import { veoBridgeBody, veoExtendBody, veoGenerateBody } from './veo-dialect-request.js';

/**
 * What is stored on the task: the service's task id (`operation`, as operators read it in the
 * engine details), what was asked of it, and the model id it ran with.
 */
const handleSchema = z.object({
  operation: upstreamTaskIdSchema,
  call: z.enum(['generate', 'extend', 'bridge', 'upgrade_1080p']),
  model: z.string().optional(),
});
type Handle = z.infer<typeof handleSchema>;

export interface VeoDialectProviderDependencies {
  readonly client: DialectUpstreamClient;
  /** Where the service should send its callbacks for one task (null: Segue only polls). */
  readonly callbackUrlFor: ((taskId: string) => string) | null;
  /** Why the service cannot fetch Segue's links (a loopback public URL), or undefined: bridge frames then go inline. */
  readonly linkRefusal?: string;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** The envelope's code on the 1080p route while the upgrade runs ("1080P is processing…"). */
const UPGRADE_PROCESSING = 400;

/**
 * A kie-style Veo service as an upstream. Generations go to `generate`; an extension of a video
 * this entry made goes to `extend` by the service's own task id (pinned here), any other video by
 * bridge (its last frame, as a link, to image-to-video); a 1080p upgrade of a video it made asks
 * the service's `get-1080p-video` until it answers the link. `record-info` alone says when a task
 * has ended: callbacks only make the next poll come sooner.
 */
export class VeoDialectProvider implements VideoProvider {
  readonly generative = true;
  readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    readonly name: string,
    private readonly entry: VeoDialectEntry,
    private readonly deps: VeoDialectProviderDependencies,
  ) {
    this.timeoutMs = entry.timeoutSeconds * 1000;
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  capabilities(model: string): ModelCapabilities | undefined {
    const id = this.entry.models[model];
    if (id === undefined) return undefined;
    return {
      operations: ['generate', 'extend', ...(this.entry.upgrade1080p ? (['upgrade_1080p'] as const) : [])],
      // The dialect's reference mode works with its fast model only.
      modes: /fast/i.test(id) ? ['text', 'first_and_last_frames', 'reference_images'] : ['text', 'first_and_last_frames'],
      extendsFrom: 'own_output',
    };
  }

  nativeExtensionRefusal(source: Task, model: string, now: number): string | undefined {
    if (this.entry.models[model] === undefined) return `model ${model} does not run on ${this.name}`;
    return this.ownVideoRefusal(source, now);
  }

  upgradeRefusal(source: Task, operation: 'upgrade_1080p' | 'upgrade_4k', now: number): string | undefined {
    if (operation !== 'upgrade_1080p' || !this.entry.upgrade1080p) return `${this.name} makes no ${operation === 'upgrade_4k' ? '4K' : '1080p'} versions`;
    return this.ownVideoRefusal(source, now);
  }

  async start(task: Task, context: StartContext): Promise<unknown> {
    const model = this.entry.models[task.parameters.model];
    if (model === undefined) throw new ProviderError(`${this.name} has no model for ${task.parameters.model}`, false, 'internal');
    const callBackUrl = this.deps.callbackUrlFor?.(task.id) ?? null;
    if (task.operation === 'upgrade_1080p') {
      const source = this.ownSource(context.source?.task ?? null, (source) => this.upgradeRefusal(source, 'upgrade_1080p', this.now()));
      // The first call starts the upgrade; later ones (the polls) answer the link once it is made.
      await this.fullHd(source, context.signal);
      return { operation: source, call: 'upgrade_1080p', model } satisfies Handle;
    }
    if (task.operation === 'extend') {
      const bridge = context.source?.bridge;
      if (bridge) {
        const frame = frameReference(bridge, this.deps.linkRefusal);
        const taskId = await this.create('/api/v1/veo/generate', veoBridgeBody(task, model, frame, bridge.aspectRatio, callBackUrl), context.signal);
        return { operation: taskId, call: 'bridge', model } satisfies Handle;
      }
      const source = this.ownSource(context.source?.task ?? null, (source) => this.nativeExtensionRefusal(source, task.parameters.model, this.now()));
      const taskId = await this.create('/api/v1/veo/extend', veoExtendBody(task, source, model, callBackUrl), context.signal);
      return { operation: taskId, call: 'extend', model } satisfies Handle;
    }
    if (task.operation !== 'generate') throw new ProviderError(`${this.name} does not run ${task.operation}`, false, 'internal');
    const taskId = await this.create('/api/v1/veo/generate', veoGenerateBody(task, model, callBackUrl), context.signal);
    return { operation: taskId, call: 'generate', model } satisfies Handle;
  }

  async status(stored: unknown, _task: Task, context: ProviderContext): Promise<ProviderStatus> {
    const handle = handleSchema.parse(stored);
    if (handle.call === 'upgrade_1080p') {
      const link = await this.fullHd(handle.operation, context.signal);
      return link ? { state: 'output_ready', output: { uri: link, createdAt: this.now() } } : { state: 'pending' };
    }
    const record = await this.recordInfo(handle.operation, context.signal);
    if (record === 'gone') return { state: 'failed', reason: 'generation_failed', message: `${this.name} no longer knows the task`, isRetryable: false };
    switch (record.successFlag) {
      case 0:
        return { state: 'pending' };
      case 1: {
        const response = record.response;
        // An extension's whole video (source + new seconds) is `fullResultUrls`; `resultUrls` may be the new seconds alone.
        const uri = (handle.call === 'extend' ? response?.fullResultUrls?.[0] : undefined) ?? response?.resultUrls?.[0];
        if (!uri) return { state: 'failed', reason: 'generation_failed', message: `${this.name} finished without a video`, isRetryable: false };
        return { state: 'output_ready', output: { uri, createdAt: this.now() } };
      }
      default:
        return { state: 'failed', reason: failureReason(record), message: this.deps.client.scrub(`${this.name}: ${record.errorMessage || `error ${record.errorCode ?? 'unknown'}`}`).slice(0, 500), isRetryable: false };
    }
  }

  async download(output: UpstreamOutput, destination: string, context: ProviderContext): Promise<void> {
    await this.deps.client.download(output.uri, destination, context.signal);
  }

  pollDelayMs(elapsedMs: number): number {
    return jitteredPollDelayMs(this.entry, elapsedMs, this.random);
  }

  /** Why `source` is not a video the service made and still holds (so it cannot continue or upgrade it itself). */
  private ownVideoRefusal(source: Task, now: number): string | undefined {
    if (source.provider !== this.name || !source.upstreamOutput || !upstreamTaskIdOf(source)) return `the video was not made on ${this.name}`;
    // A bridge's upstream task is the image-to-video clip alone, not the video Segue joined.
    if (source.extension?.method === 'bridge') return `${this.name} holds only the bridged clip, not the whole video`;
    const ageSeconds = (now - source.upstreamOutput.createdAt) / 1000;
    if (ageSeconds > this.entry.nativeExtensionMaxAgeSeconds) return `the service's copy is ${Math.round(ageSeconds / 3600)} h old and no longer held`;
    return undefined;
  }

  /** The service's task id of a source it made; refused (before payment upstream) when it no longer qualifies. */
  private ownSource(source: Task | null, refusalOf: (source: Task) => string | undefined): string {
    const refusal = source ? refusalOf(source) : 'the source video is unknown';
    const taskId = source ? upstreamTaskIdOf(source) : undefined;
    if (refusal || !taskId) throw new ProviderError(`This video cannot be continued on ${this.name}: ${refusal ?? 'no task id'}`, false, 'input_unusable');
    return taskId;
  }

  private async create(path: string, body: object, signal: AbortSignal): Promise<string> {
    const data = await this.envelope('POST', path, signal, body);
    const created = createdSchema.safeParse(data.data);
    if (!created.success) throw new ProviderError(`${this.name} answered the create call without a task id`, true);
    return created.data.taskId;
  }

  /** The record, or `gone` when the service says it has none ("record is null"). */
  private async recordInfo(taskId: string, signal: AbortSignal): Promise<RecordInfo | 'gone'> {
    const data = await this.envelope('GET', `/api/v1/veo/record-info?taskId=${encodeURIComponent(taskId)}`, signal, undefined, [422]);
    if (data.code === 422) return 'gone';
    const record = recordInfoSchema.safeParse(data.data);
    if (!record.success) throw new ProviderError(`${this.name} answered record-info with an unexpected shape`, true);
    return record.data;
  }

  /** The 1080p link once made, or null while the service is making it. */
  private async fullHd(taskId: string, signal: AbortSignal): Promise<string | null> {
    const data = await this.envelope('GET', `/api/v1/veo/get-1080p-video?taskId=${encodeURIComponent(taskId)}&index=0`, signal, undefined, [UPGRADE_PROCESSING]);
    if (data.code === UPGRADE_PROCESSING) return null;
    const answer = fullHdSchema.safeParse(data.data);
    if (!answer.success) throw new ProviderError(`${this.name} answered get-1080p-video without a link`, true);
    return answer.data.resultUrl;
  }

  /**
   * One call: the envelope when its code is 200 (or one of `accepted`); otherwise an error from
   * the code (or the HTTP status), retryable for 429, 455 and 5xx, with the service's Retry-After.
   */
  private async envelope(method: 'GET' | 'POST', path: string, signal: AbortSignal, body?: object, accepted: readonly number[] = []) {
    const answer = await this.deps.client.call(method, path, signal, body);
    const parsed = envelopeSchema.safeParse(answer.json);
    if (!parsed.success) {
      if (answer.statusCode !== 200) throw this.deps.client.refusal(answer.statusCode, `HTTP ${answer.statusCode}`, answer.retryAfterMs);
      throw new ProviderError(`${this.name} answered with something that is not the {code, msg, data} envelope`, true);
    }
    const { code, msg } = parsed.data;
    if (code === 200 || accepted.includes(code)) return parsed.data;
    throw this.deps.client.refusal(code, msg ?? `code ${code}`, answer.retryAfterMs);
  }
}

/** The service's task id of a task Segue ran there, from its stored handle. */
function upstreamTaskIdOf(task: Task): string | undefined {
  const handle = handleSchema.safeParse(task.providerHandle);
  return handle.success && handle.data.call !== 'upgrade_1080p' ? handle.data.operation : undefined;
}

/** The dialect's failure codes: 400 is a refused prompt or an unusable input; the rest a failed generation. */
function failureReason(record: RecordInfo): FailureReason {
  if (record.errorCode !== 400) return 'generation_failed';
  return /polic|flagged|unsafe/i.test(record.errorMessage ?? '') ? 'content_policy' : 'input_unusable';
}
