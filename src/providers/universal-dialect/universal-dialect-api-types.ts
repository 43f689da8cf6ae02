import { z } from 'zod';

/** Generation ids go into a query string: anything unusual is refused before it reaches a URL. */
export const generationIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/);

/** The create answer: the SDK reads `generation_id`, else `id`. */
export const createdSchema = z
  .object({ id: generationIdSchema.optional(), generation_id: generationIdSchema.optional(), status: z.string().optional() })
  .passthrough()
  .refine((body) => body.generation_id !== undefined || body.id !== undefined);

/** `GET /v2/video/generations?generation_id=` (universal-video-fetch.json). */
export const generationSchema = z
  .object({
    id: z.string().optional(),
    status: z.string(),
    video: z.object({ url: z.string().optional() }).passthrough().nullish(),
    error: z.object({ name: z.string().optional(), message: z.string().optional() }).passthrough().nullish(),
  })
  .passthrough();

export type Generation = z.infer<typeof generationSchema>;

/** The NestJS-style error body `{message, statusCode, …}`. */
export const errorBodySchema = z.object({ message: z.union([z.string(), z.array(z.string())]) }).passthrough();

/** `POST /v2/video/generations`: one body for every model, fields per model kind. */
export interface UniversalCreateBody {
  readonly model: string;
  readonly prompt: string;
  readonly image_url?: string;
  readonly last_image_url?: string;
  readonly image_urls?: readonly string[];
  readonly video_url?: string;
  readonly aspect_ratio?: 'auto' | '16:9' | '9:16';
  readonly duration?: number;
  readonly resolution?: '720p' | '1080p';
  readonly generate_audio?: boolean;
  readonly seed?: number;
  readonly negative_prompt?: string;
}
