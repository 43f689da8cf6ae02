import { z } from 'zod';
import { ValidationError } from '../../domain/errors.js';
import type { GenerationMode, TaskParameters } from '../../domain/task.js';

/** How a universal model id maps onto Segue's engine. */
interface UniversalModel {
  /** The public model the task runs as (routing and prices key on it). */
  readonly publicModel: 'veo3' | 'veo3_fast';
  readonly kind: 'text' | 'image' | 'first_last' | 'reference' | 'extend';
}

/** Every Veo 3.1 model id of the universal dialect. */
export const universalModels: Readonly<Record<string, UniversalModel>> = {
  'google/veo-3.1-t2v': { publicModel: 'veo3', kind: 'text' },
  'google/veo-3.1-t2v-fast': { publicModel: 'veo3_fast', kind: 'text' },
  'google/veo-3.1-i2v': { publicModel: 'veo3', kind: 'image' },
  'google/veo-3.1-i2v-fast': { publicModel: 'veo3_fast', kind: 'image' },
  'google/veo-3.1-first-last-image-to-video': { publicModel: 'veo3', kind: 'first_last' },
  'google/veo-3.1-first-last-image-to-video-fast': { publicModel: 'veo3_fast', kind: 'first_last' },
  'google/veo-3.1-reference-to-video': { publicModel: 'veo3', kind: 'reference' },
  'google/veo3-1-extend-video': { publicModel: 'veo3', kind: 'extend' },
  'google/veo3-1-fast-extend-video': { publicModel: 'veo3_fast', kind: 'extend' },
};

const oneOf = <T extends string | number>(field: string, values: readonly T[]) =>
  `Expected "${field}" to be one of: ${values.join(', ')}`;

/** Longer links than any real one (signed object-store links run to about 2000 characters). */
const MAX_URL_LENGTH = 8192;

const mediaUrl = (field: string) =>
  z
    .string({ error: `Expected "${field}" to be a URL` })
    .trim()
    .refine((value) => /^(https?:\/\/[^\s]+|data:[^,]*,.*)$/is.test(value), `Expected "${field}" to be an http(s) URL or a data: URI`)
    .refine((value) => value.startsWith('data:') || value.length <= MAX_URL_LENGTH, `Expected "${field}" to be at most ${MAX_URL_LENGTH} characters`);

const integerEnum = <T extends number>(field: string, values: readonly T[]) =>
  z.number({ error: oneOf(field, values) }).refine((value): value is T => values.includes(value as T), oneOf(field, values));

const common = {
  model: z.string(),
  prompt: z.string({ error: 'Expected "prompt" to be a string' }).trim().min(1, 'Expected "prompt" to be a non-empty string').max(5000, 'Expected "prompt" to be at most 5000 characters'),
  provider: z
    .string({ error: 'Expected "provider" to be a string' })
    .transform((value) => value.toLowerCase())
    .pipe(z.enum(['google', 'fal', 'auto'], { error: oneOf('provider', ['google', 'fal', 'auto']) }))
    .optional(),
  seed: z.number({ error: 'Expected "seed" to be an integer' }).int('Expected "seed" to be an integer').min(0).max(4294967295).optional(),
  generate_audio: z.boolean({ error: 'Expected "generate_audio" to be a boolean' }).default(true),
  negative_prompt: z.string({ error: 'Expected "negative_prompt" to be a string' }).max(5000).optional(),
  enhance_prompt: z.boolean({ error: 'Expected "enhance_prompt" to be a boolean' }).optional(),
  auto_fix: z.boolean({ error: 'Expected "auto_fix" to be a boolean' }).optional(),
  person_generation: z
    .enum(['dont_allow', 'allow_adult'], { error: oneOf('person_generation', ['dont_allow', 'allow_adult']) })
    .optional(),
};

const aspectRatio = z.enum(['16:9', '9:16'], { error: oneOf('aspect_ratio', ['16:9', '9:16']) }).default('16:9');
const resolution = z.enum(['720p', '1080p'], { error: oneOf('resolution', ['720p', '1080p']) }).default('1080p');
const duration = integerEnum('duration', [4, 6, 8] as const).default(8);

const schemas = {
  text: z.object({ ...common, aspect_ratio: aspectRatio, duration, resolution }),
  image: z.object({ ...common, image_url: mediaUrl('image_url'), aspect_ratio: aspectRatio, duration, resolution }),
  first_last: z.object({
    ...common,
    image_url: mediaUrl('image_url'),
    last_image_url: mediaUrl('last_image_url'),
    aspect_ratio: aspectRatio,
    duration,
    resolution,
  }),
  reference: z.object({
    ...common,
    image_urls: z
      .array(mediaUrl('image_urls'), { error: 'Expected "image_urls" to be a list of URLs' })
      .min(1, 'Expected "image_urls" to hold 1 to 3 URLs')
      .max(3, 'Expected "image_urls" to hold 1 to 3 URLs'),
    duration: integerEnum('duration', [8] as const).default(8),
    resolution,
  }),
  extend: z.object({
    ...common,
    video_url: mediaUrl('video_url'),
    aspect_ratio: z.enum(['auto', '16:9', '9:16'], { error: oneOf('aspect_ratio', ['auto', '16:9', '9:16']) }).default('auto'),
    duration: integerEnum('duration', [7] as const).default(7),
    resolution: z.enum(['720p'], { error: oneOf('resolution', ['720p']) }).default('720p'),
  }),
} as const;

/** Any model's validated fields (each schema fills its own subset). */
interface ParsedFields {
  readonly prompt: string;
  readonly seed?: number;
  readonly generate_audio: boolean;
  readonly negative_prompt?: string;
  readonly aspect_ratio?: 'auto' | '16:9' | '9:16';
  readonly duration: number;
  readonly resolution: '720p' | '1080p';
  readonly image_url?: string;
  readonly last_image_url?: string;
  readonly image_urls?: string[];
  readonly video_url?: string;
}

/** A validated create request, in the engine's terms. */
export interface UniversalCreate {
  readonly model: UniversalModel;
  /** The model id as the client sent it (routes may name it). */
  readonly modelId: string;
  readonly parameters: TaskParameters;
  readonly seed: number | undefined;
  /** For an extension: the video to continue (an http(s) URL or a data: URI). */
  readonly videoUrl: string | null;
  readonly requestEcho: Record<string, unknown>;
}

const modes: Record<UniversalModel['kind'], GenerationMode> = {
  text: 'text',
  image: 'first_and_last_frames',
  first_last: 'first_and_last_frames',
  reference: 'reference_images',
  extend: 'text',
};

/** Validates `POST /v2/video/generations`; errors name the field, as the dialect's 400s do. */
export function parseUniversalCreate(body: unknown): UniversalCreate {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('Body validation error! Expected the body to be a JSON object');
  }
  const modelId = (body as { model?: unknown }).model;
  if (typeof modelId !== 'string') throw new ValidationError('Body validation error! Expected "model" to be a string', 'model');
  const model = universalModels[modelId];
  if (!model) {
    const received = modelId.length > 100 ? `${modelId.slice(0, 100)}…` : modelId;
    throw new ValidationError(`Body validation error! ${oneOf('model', Object.keys(universalModels))}. Received: "${received}"`, 'model');
  }
  const parsed = schemas[model.kind].safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    const missing = issue.code === 'invalid_type' && (body as Record<string, unknown>)[String(issue.path[0])] === undefined;
    throw new ValidationError(`Body validation error! ${missing ? `Expected "${field}" to be present` : issue.message}`, field);
  }
  const fields = parsed.data as ParsedFields;
  const imageUrls =
    model.kind === 'reference' ? (fields.image_urls ?? []) : [fields.image_url, fields.last_image_url].filter((url): url is string => Boolean(url));
  return {
    model,
    modelId,
    seed: fields.seed,
    videoUrl: model.kind === 'extend' ? (fields.video_url ?? null) : null,
    parameters: {
      prompt: fields.prompt,
      model: model.publicModel,
      aspectRatio: fields.aspect_ratio ?? '16:9',
      mode: modes[model.kind],
      imageUrls: model.kind === 'extend' ? [] : imageUrls,
      watermark: null,
      negativePrompt: fields.negative_prompt ?? null,
      durationSeconds: fields.duration,
      resolution: fields.resolution,
      generateAudio: fields.generate_audio,
      sourceVideoUrl: null,
      sourceVideoKey: null,
    },
    requestEcho: {
      model: modelId,
      prompt: fields.prompt,
      ...Object.fromEntries(
        Object.entries(fields)
          .filter(([name]) => !['model', 'prompt'].includes(name))
          .map(([name, value]) => [name, typeof value === 'string' && value.startsWith('data:') ? `${value.slice(0, value.indexOf(',') + 1)}…` : value]),
      ),
    },
  };
}

/** `GET /v2/video/generations`: the one generation to read. */
const fetchQuerySchema = z.object({
  generation_id: z
    .string({
      error: (issue) =>
        issue.input === undefined ? 'Expected "generation_id" to be present'
        : Array.isArray(issue.input) ? 'Expected "generation_id" to be given once'
        : 'Expected "generation_id" to be a string',
    })
    .trim()
    .min(1, 'Expected "generation_id" to be present')
    .max(128, 'Expected "generation_id" to be at most 128 characters'),
});

/** Validates the query of `GET /v2/video/generations`; errors name the parameter, as the dialect's 400s do. */
export function parseUniversalFetch(query: unknown): { generationId: string } {
  const parsed = fetchQuerySchema.safeParse(query ?? {});
  if (!parsed.success) throw new ValidationError(`Query validation error! ${parsed.error.issues[0]!.message}`, 'generation_id');
  return { generationId: parsed.data.generation_id };
}
