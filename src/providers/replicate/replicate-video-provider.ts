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
import type { Prediction } from './replicate-api-types.js';
import { MAX_INLINE_IMAGE_BYTES, type ReplicateClient } from './replicate-client.js';
import { veoCapabilities, type VeoModelSpec, veoModelSpec } from '../veo-models.js';
import type { ReplicateEntry } from './replicate-entry.js';
import { replicateBridgeInput, replicateCreateBody, replicateInput } from './replicate-request.js';

/** What a task keeps of its prediction: its id (`operation`), the model, and its deadline. */
const handleSchema = z.object({ operation: z.string(), model: z.string(), deadline: z.number() });

/** How long after its `Cancel-After` deadline Segue waits for Replicate to end a prediction itself. */
export const DEADLINE_GRACE_MS = 60_000;

export interface ReplicateProviderDependencies {
  readonly client: ReplicateClient;
  /** Where Replicate should announce finished predictions (per task), when webhooks are on. */
  readonly webhookUrl: ((taskId: string) => string) | null;
  /** Who the upstream sees: a short fingerprint of the key (tasks are pinned to it; never the key). */
  readonly credentialIdentity: string;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * Veo 3.1 on Replicate, one account (token) per instance. Generation only: `google/veo-3.1`
 * takes no video, so an extension runs here as a bridge (the source's last frame as `image`).
 * `start` creates the prediction with the task's deadline; `status` reads it and, once it
 * succeeded, answers `output_ready` with the output link, which Segue downloads at once
 * (Replicate deletes API outputs after about an hour).
 */
export class ReplicateVideoProvider implements VideoProvider {
  readonly timeoutMs: number;
  readonly generative = true;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    readonly name: string,
    private readonly entry: ReplicateEntry,
    private readonly deps: ReplicateProviderDependencies,
  ) {
    // Replicate ends the prediction at its deadline (and Segue a minute later): reconciliation only after that.
    this.timeoutMs = entry.timeoutSeconds * 1000 + 2 * DEADLINE_GRACE_MS;
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  /**
   * Text, first (and last) frame, and reference images where the model takes them. `any_video`
   * with no `extend`: this entry never continues a video natively, not even its own, so every
   * extension on it is a bridge, and a bridge of its own video is its best method (not a lesser one).
   */
  capabilities(model: string): ModelCapabilities | undefined {
    const spec = this.model(model);
    if (!spec) return undefined;
    // Replicate's Veo takes no video: extensions go by bridge only.
    return veoCapabilities(spec, { nativeExtension: false, extendsFrom: 'any_video' });
  }

  async start(task: Task, context: StartContext): Promise<unknown> {
    const spec = this.model(task.parameters.model);
    if (!spec) throw new ProviderError(`${this.name} has no model for ${task.parameters.model}`, false, 'internal');
    let input;
    if (task.operation === 'extend') {
      const bridge = context.source?.bridge;
      if (!bridge) throw new ProviderError(`${this.name} extends videos only by bridge (the model takes no video)`, false, 'input_unusable');
      if (bridge.frame.bytes.length > MAX_INLINE_IMAGE_BYTES) throw new ProviderError(`the source's last frame is larger than ${MAX_INLINE_IMAGE_BYTES} bytes`, false, 'input_unusable');
      input = replicateBridgeInput(task, bridge);
    } else if (task.operation === 'generate') {
      input = replicateInput(task);
    } else {
      throw new ProviderError(`${this.name} cannot run ${task.operation}`, false, 'internal');
    }
    const webhook = this.deps.webhookUrl ? { url: this.deps.webhookUrl(task.id) } : null;
    const deadline = this.now() + this.entry.timeoutSeconds * 1000;
    const prediction = await this.deps.client.create(spec.id, replicateCreateBody(input, webhook), this.entry.timeoutSeconds, context.signal);
    return { operation: prediction.id, model: spec.id, deadline };
  }

  async status(handle: unknown, _task: Task, context: ProviderContext): Promise<ProviderStatus> {
    const { operation, deadline } = handleSchema.parse(handle);
    const prediction = await this.deps.client.prediction(operation, context.signal);
    const answer = this.statusOf(prediction);
    if (answer.state !== 'pending' || this.now() < deadline + DEADLINE_GRACE_MS) return answer;
    // Past its deadline and Replicate did not end it: stop it (and its bill) before giving up.
    const canceled = await this.deps.client.cancel(operation, context.signal);
    const after = this.statusOf(canceled);
    if (after.state !== 'pending') return after;
    return { state: 'failed', reason: 'timeout', message: `Replicate did not finish the prediction within ${this.entry.timeoutSeconds} s; it was canceled`, isRetryable: false };
  }

  async download(output: UpstreamOutput, destination: string, context: ProviderContext): Promise<void> {
    await this.deps.client.download(output.uri, destination, context.signal);
  }

  /** First poll after `firstPollSeconds`; then `pollSeconds` ± a third, jittered so polls spread out. */
  pollDelayMs(elapsedMs: number): number {
    return jitteredPollDelayMs(this.entry, elapsedMs, this.random);
  }

  private statusOf(prediction: Prediction): ProviderStatus {
    const scrub = (text: string) => this.deps.client.scrub(text);
    switch (prediction.status) {
      case 'starting':
      case 'processing':
        return { state: 'pending' };
      case 'succeeded': {
        const uri = outputUri(prediction.output);
        if (uri) return { state: 'output_ready', output: { uri, createdAt: this.now() } };
        return { state: 'failed', reason: 'generation_failed', message: 'Replicate finished without a video', isRetryable: false };
      }
      case 'failed': {
        const message = scrub(errorText(prediction.error) ?? 'the prediction failed');
        // Replicate marks a safety refusal with its error code E005 ("flagged as sensitive").
        return { state: 'failed', reason: /\bE005\b|flagged as sensitive/i.test(message) ? 'content_policy' : 'generation_failed', message: `Replicate: ${message}`, isRetryable: false };
      }
      case 'aborted':
        return { state: 'failed', reason: 'timeout', message: 'Replicate aborted the prediction: its deadline passed before it started (not billed)', isRetryable: false };
      case 'canceled':
        return { state: 'failed', reason: 'timeout', message: 'Replicate canceled the prediction before it finished', isRetryable: false };
      default:
        // A status this adapter does not know yet is not an end: keep asking (the deadline still holds).
        return { state: 'pending' };
    }
  }

  pinning(model: string): ProviderPinning | undefined {
    const spec = this.model(model);
    return spec && { credential: this.deps.credentialIdentity, region: null, upstreamModel: spec.id };
  }

  private model(model: string): VeoModelSpec | undefined {
    return veoModelSpec(this.entry.models[model]);
  }
}

/** The video's link: Veo answers one URI string; other models answer a list of them. */
function outputUri(output: unknown): string | undefined {
  const candidate = Array.isArray(output) ? output.find((item) => typeof item === 'string') : output;
  if (typeof candidate !== 'string') return undefined;
  try {
    const url = new URL(candidate);
    return url.protocol === 'https:' || url.protocol === 'http:' ? candidate : undefined;
  } catch {
    return undefined;
  }
}

function errorText(error: unknown): string | undefined {
  if (typeof error === 'string' && error) return error.slice(0, 500);
  if (error && typeof error === 'object') return JSON.stringify(error).slice(0, 500);
  return undefined;
}
