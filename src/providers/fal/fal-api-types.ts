import { z } from 'zod';

/** Where a submit goes, after the endpoint id (upstream-providers.md §3.1). */
export type FalSubpath = '' | '/image-to-video' | '/first-last-frame-to-video' | '/reference-to-video' | '/extend-video';

/**
 * The model input of Veo 3.1 on fal, for every subpath: text to video (no image), image to video
 * (`image_url`), first and last frame (`first_frame_url`, `last_frame_url`), references
 * (`image_urls`), extension (`video_url`, always `duration: "7s"`).
 */
export interface FalInput {
  readonly prompt: string;
  readonly image_url?: string;
  readonly first_frame_url?: string;
  readonly last_frame_url?: string;
  readonly image_urls?: readonly string[];
  readonly video_url?: string;
  readonly aspect_ratio: 'auto' | '16:9' | '9:16';
  readonly duration: '4s' | '6s' | '7s' | '8s';
  readonly resolution: '720p' | '1080p';
  readonly generate_audio: boolean;
  readonly negative_prompt?: string;
  readonly seed?: number;
}

/** The submit answer: the request's id and the URLs to use verbatim (they lack the subpath). */
export const submitResponseSchema = z.object({
  request_id: z.string().min(1).max(200),
  gateway_request_id: z.string().optional(),
  status_url: z.string().url(),
  response_url: z.string().url(),
  cancel_url: z.string().url().optional(),
});

export type FalSubmitted = z.infer<typeof submitResponseSchema>;

/** `GET status_url`: where the request is; a request that failed says so once COMPLETED. */
export const statusResponseSchema = z.object({
  status: z.enum(['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED']),
  queue_position: z.number().nullish(),
  error: z.string().nullish(),
  error_type: z.string().nullish(),
});

export type FalStatus = z.infer<typeof statusResponseSchema>;

/** `GET response_url` of a Veo request: the model's output, a File object. */
export const videoResultSchema = z.object({
  video: z.object({ url: z.string().url(), content_type: z.string().nullish(), file_size: z.number().nullish() }).passthrough(),
});

/**
 * fal's two error shapes: model validation errors (`detail` is a list of typed problems, e.g.
 * `content_policy_violation`) and request errors (`detail` is text, `error_type` a category).
 */
export const errorBodySchema = z.object({
  detail: z.union([
    z.string(),
    z.array(z.object({ msg: z.string().optional(), type: z.string().optional(), loc: z.array(z.unknown()).optional() }).passthrough()),
  ]).optional(),
  error_type: z.string().optional(),
}).passthrough();

export type FalErrorBody = z.infer<typeof errorBodySchema>;

/** fal's webhook body (status `OK` or `ERROR`); Segue only reads it as a hint and confirms by a status read. */
export const webhookBodySchema = z.object({
  request_id: z.string(),
  gateway_request_id: z.string().optional(),
  status: z.string().optional(),
}).passthrough();

/** The JWKS fal publishes its webhook keys in: ED25519 keys as `OKP` JWKs. */
export const jwksSchema = z.object({
  keys: z.array(z.object({ kty: z.string(), crv: z.string().optional(), x: z.string().optional(), kid: z.string().optional() }).passthrough()),
});
