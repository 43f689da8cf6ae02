import type { FastifySchemaValidationError } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.js';
import type { GenerationMode, TaskParameters } from '../../domain/task.js';
import { firstIssue, textFieldCheck, withQuickCheck } from '../schema-compilers.js';

/** How a universal model id maps onto Segue's engine. */
interface UniversalModel {
  /** The public model the task runs as (routing and prices key on it). */
  readonly publicModel: 'veo3' | 'veo3_fast';
  readonly kind: 'text' | 'image' | 'first_last' | 'reference' | 'extend';
}

/** Every Veo 3.1 model id of the universal dialect (the OpenAI-compatible dialect serves them too). */
export const universalModels = {
  'google/veo-3.1-t2v': { publicModel: 'veo3', kind: 'text' },
  'google/veo-3.1-t2v-fast': { publicModel: 'veo3_fast', kind: 'text' },
  'google/veo-3.1-i2v': { publicModel: 'veo3', kind: 'image' },
  'google/veo-3.1-i2v-fast': { publicModel: 'veo3_fast', kind: 'image' },
  'google/veo-3.1-first-last-image-to-video': { publicModel: 'veo3', kind: 'first_last' },
  'google/veo-3.1-first-last-image-to-video-fast': { publicModel: 'veo3_fast', kind: 'first_last' },
  'google/veo-3.1-reference-to-video': { publicModel: 'veo3', kind: 'reference' },
  'google/veo3-1-extend-video': { publicModel: 'veo3', kind: 'extend' },
  'google/veo3-1-fast-extend-video': { publicModel: 'veo3_fast', kind: 'extend' },
} as const satisfies Readonly<Record<string, UniversalModel>>;

type ModelId = keyof typeof universalModels;
const modelIds = Object.keys(universalModels) as ModelId[];

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
  z
    .number({ error: oneOf(field, values) })
    .refine((value): value is T => values.includes(value as T), oneOf(field, values))
    .meta({ enum: [...values] });

/** The model ids of one kind: the `model` of that kind's body. */
const modelOf = (kind: UniversalModel['kind']) =>
  z.enum(modelIds.filter((id) => universalModels[id].kind === kind) as [ModelId, ...ModelId[]]);

const common = {
  prompt: z.string({ error: 'Expected "prompt" to be a string' }).trim().min(1, 'Expected "prompt" to be a non-empty string').max(5000, 'Expected "prompt" to be at most 5000 characters'),
  provider: z
    .string({ error: 'Expected "provider" to be a string' })
    .transform((value) => value.toLowerCase())
    .pipe(z.enum(['google', 'fal', 'auto'], { error: oneOf('provider', ['google', 'fal', 'auto']) }))
    .optional()
    .meta({ description: 'google, fal or auto, in any case: checked and echoed; Segue routes by its own provider entries.' }),
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

const bodies = [
  z.object({ model: modelOf('text'), ...common, aspect_ratio: aspectRatio, duration, resolution }),
  z.object({ model: modelOf('image'), ...common, image_url: mediaUrl('image_url'), aspect_ratio: aspectRatio, duration, resolution }),
  z.object({
    model: modelOf('first_last'),
    ...common,
    image_url: mediaUrl('image_url'),
    last_image_url: mediaUrl('last_image_url'),
    aspect_ratio: aspectRatio,
    duration,
    resolution,
  }),
  z.object({
    model: modelOf('reference'),
    ...common,
    image_urls: z
      .array(mediaUrl('image_urls'), { error: 'Expected "image_urls" to be a list of URLs' })
      .min(1, 'Expected "image_urls" to hold 1 to 3 URLs')
      .max(3, 'Expected "image_urls" to hold 1 to 3 URLs'),
    duration: integerEnum('duration', [8] as const).default(8),
    resolution,
  }),
  z.object({
    model: modelOf('extend'),
    ...common,
    video_url: mediaUrl('video_url'),
    aspect_ratio: z.enum(['auto', '16:9', '9:16'], { error: oneOf('aspect_ratio', ['auto', '16:9', '9:16']) }).default('auto'),
    duration: integerEnum('duration', [7] as const).default(7),
    resolution: z.enum(['720p'], { error: oneOf('resolution', ['720p']) }).default('720p'),
  }),
] as const;

/** The refusal of a `model` that names no Veo 3.1 model of the dialect. */
function unknownModel(body: unknown): string {
  const model = (body as { model?: unknown }).model;
  if (typeof model !== 'string') return 'Expected "model" to be a string';
  return `${oneOf('model', modelIds)}. Received: "${model.length > 100 ? `${model.slice(0, 100)}…` : model}"`;
}

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

/**
 * `POST /v2/video/generations`: one body per model kind, told apart by `model`, validated into
 * the engine's terms. Errors name the field, as the dialect's 400s do.
 */
export const universalCreateSchema = z
  .discriminatedUnion('model', bodies, { error: (issue) => (issue.code === 'invalid_union' ? unknownModel(issue.input) : undefined) })
  .meta({ examples: [{ model: 'google/veo3-1-fast-extend-video', prompt: 'the camera keeps rising over the harbour', video_url: 'https://example.com/clip.mp4' }] })
  .transform((body): UniversalCreate => {
    const modelId = body.model;
    const model = universalModels[modelId];
    const fields = body as ParsedFields;
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
  });

/** `GET /v2/video/generations`: the one generation to read. */
export const fetchQuerySchema = withQuickCheck(
  z.object({
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
  }),
  textFieldCheck('generation_id', { trim: true, minLength: 1, maxLength: 128 }),
);

/**
 * The universal dialect's 400 for a request that does not match its route's schema (the scope's
 * schema error formatter): "Query validation error!" for the query string, "Body validation
 * error!" otherwise; a missing field is "to be present", a body that is no object says so.
 */
export function universalSchemaError(errors: readonly FastifySchemaValidationError[], part: string): ValidationError {
  const issue = firstIssue(errors);
  const prefix = part === 'querystring' ? 'Query validation error!' : 'Body validation error!';
  if (issue.path.length === 0) return new ValidationError(`${prefix} Expected the body to be a JSON object`);
  const field = issue.path.join('.');
  const missing = issue.code === 'invalid_type' && issue.input === undefined;
  return new ValidationError(`${prefix} ${missing ? `Expected "${field}" to be present` : issue.message}`, field);
}
