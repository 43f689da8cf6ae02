import { GENERATION_SECONDS, type Task } from '../../domain/task.js';
import type { ExtensionSource } from '../../ports/video-provider.js';
import type { ReplicateCreateBody, ReplicateVeoInput } from './replicate-api-types.js';

/** Where Replicate announces the finished prediction, when webhooks are on. */
export interface ReplicateWebhookTarget {
  readonly url: string;
}

/**
 * Segue's task in the input of `google/veo-3.1` on Replicate (upstream-providers.md §3.2, A.4).
 * Images go as URIs (Replicate fetches the caller's URLs itself); first and last frame, or 1–3
 * reference images (16:9, 8 s). Interpolation and references are 8 s long, as on every Veo 3.1.
 * The resolution is always sent: Replicate's default is 1080p, Segue's 720p.
 */
export function replicateInput(task: Task): ReplicateVeoInput {
  const { parameters } = task;
  const references = parameters.mode === 'reference_images';
  const [first, last] = parameters.imageUrls;
  const imageInput = references
    ? { reference_images: [...parameters.imageUrls] }
    : { ...(first ? { image: first } : {}), ...(last ? { last_frame: last } : {}) };
  const mustBeEight = references || Boolean(last);
  return {
    prompt: parameters.prompt,
    ...imageInput,
    ...(references ? { aspect_ratio: '16:9' as const } : parameters.aspectRatio !== 'auto' ? { aspect_ratio: parameters.aspectRatio } : {}),
    duration: mustBeEight ? GENERATION_SECONDS : parameters.durationSeconds,
    resolution: parameters.resolution,
    generate_audio: parameters.generateAudio,
    ...(parameters.negativePrompt ? { negative_prompt: parameters.negativePrompt } : {}),
    ...(Number.isInteger(task.seed) ? { seed: task.seed } : {}),
  };
}

/**
 * A bridge extension as Replicate runs it (the model takes no video): image-to-video from the
 * source's last frame, inlined as a data: URI, at the model's nearest aspect ratio, 8 s at 720p.
 */
export function replicateBridgeInput(task: Task, bridge: NonNullable<ExtensionSource['bridge']>): ReplicateVeoInput {
  const { parameters } = task;
  return {
    prompt: parameters.prompt,
    image: `data:${bridge.frame.mimeType};base64,${bridge.frame.bytes.toString('base64')}`,
    aspect_ratio: bridge.aspectRatio,
    duration: GENERATION_SECONDS,
    resolution: '720p',
    generate_audio: parameters.generateAudio,
    ...(parameters.negativePrompt ? { negative_prompt: parameters.negativePrompt } : {}),
    ...(Number.isInteger(task.seed) ? { seed: task.seed } : {}),
  };
}

/** The create body: the input, and the webhook (only the terminal event) when Segue takes them. */
export function replicateCreateBody(input: ReplicateVeoInput, webhook: ReplicateWebhookTarget | null): ReplicateCreateBody {
  return { input, ...(webhook ? { webhook: webhook.url, webhook_events_filter: ['completed'] as const } : {}) };
}
