import { z } from 'zod';

/**
 * The `input` of `google/veo-3.1` and `google/veo-3.1-fast` on Replicate (upstream-providers.md
 * §3.2, A.4). Images are URIs (an http(s) URL or a data: URI); the model takes no video.
 */
export interface ReplicateVeoInput {
  readonly prompt: string;
  readonly aspect_ratio?: '16:9' | '9:16';
  readonly duration?: number;
  readonly image?: string;
  readonly last_frame?: string;
  readonly reference_images?: readonly string[];
  readonly negative_prompt?: string;
  readonly resolution?: '720p' | '1080p';
  readonly generate_audio?: boolean;
  readonly seed?: number;
}

/** The body of `POST /v1/models/{owner}/{name}/predictions`. */
export interface ReplicateCreateBody {
  readonly input: ReplicateVeoInput;
  readonly webhook?: string;
  readonly webhook_events_filter?: ReadonlyArray<'start' | 'output' | 'logs' | 'completed'>;
}

/** Replicate's prediction statuses; `aborted` (a deadline hit before it started) is not billed. */
export const predictionStatuses = ['starting', 'processing', 'succeeded', 'failed', 'canceled', 'aborted'] as const;

/** Prediction ids are lower-case base32-like words; anything else is never put in a URL. */
export const predictionIdPattern = /^[A-Za-z0-9]{1,64}$/;

/** `owner/name` of a public model. */
export const modelNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A prediction object: what create, get and cancel answer, and what a webhook carries. */
export const predictionSchema = z
  .object({
    id: z.string().regex(predictionIdPattern),
    status: z.string(),
    output: z.unknown().optional(),
    error: z.unknown().optional(),
    logs: z.string().nullish(),
    metrics: z.object({ predict_time: z.number().nullish() }).passthrough().nullish(),
  })
  .passthrough();

export type Prediction = z.infer<typeof predictionSchema>;

/** Replicate's error answers are problem details: `{title, detail, status}`. */
export const problemSchema = z
  .object({
    title: z.string().optional(),
    detail: z.union([z.string(), z.array(z.unknown())]).optional(),
    status: z.number().optional(),
  })
  .passthrough();
