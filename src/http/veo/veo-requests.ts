import type { FastifySchemaValidationError } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.js';
import { type GenerationMode, type TaskParameters, withParameterDefaults } from '../../domain/task.js';
import { checkWatermark } from '../../domain/watermark.js';
import { firstIssue, type SchemaIssue, textFieldCheck, withQuickCheck } from '../schema-compilers.js';

const seedMessage = 'seeds must be an integer between 10000 and 99999';
const seedField = z
  .union([z.number(), z.string().regex(/^\s*\d+\s*$/).transform(Number)], { error: seedMessage })
  .pipe(z.number().int(seedMessage).min(10000, seedMessage).max(99999, seedMessage))
  .nullish();

/** Longer links than any real one (signed object-store links run to about 2000 characters). */
const MAX_URL_LENGTH = 8192;

const aspectRatioField = z
  .string()
  .transform((value) => value.trim().toLowerCase())
  .pipe(z.enum(['16:9', '9:16', 'auto'], { error: 'aspectRatio must be one of 16:9, 9:16, Auto' }))
  .nullish();

const urlList = z.array(
  z
    .string({ error: 'imageUrls must be a list of URLs' })
    .trim()
    .min(1, 'imageUrls must not contain empty URLs')
    .refine((url) => url.startsWith('data:') || url.length <= MAX_URL_LENGTH, 'imageUrls must not contain URLs this long'),
  { error: 'imageUrls must be a list of URLs' },
);

/** An empty or null callBackUrl means "no callback", as lenient clients send it. */
const callbackField = z
  .string({ error: 'callBackUrl must be a URL' })
  .trim()
  .max(2048, 'callBackUrl is too long')
  .nullish()
  .transform((value) => (value ? value : null));

const promptField = z
  .string({ error: 'prompt must be text' })
  .trim()
  .min(1, 'prompt is required')
  .max(5000, 'prompt must be at most 5000 characters');

const watermarkField = z
  .string({ error: 'watermark must be text' })
  .nullish()
  .transform((value, context) => {
    if (!value) return null;
    try {
      return checkWatermark(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

const flag = (name: string) => z.boolean({ error: `${name} must be true or false` }).nullish();

/** `POST /api/v1/veo/generate`. Unknown fields (resolution, duration…) are accepted and ignored. */
export const generateBodySchema = z.object({
  prompt: promptField,
  imageUrls: urlList.max(3, 'imageUrls takes at most 3 images').nullish(),
  model: z.enum(['veo3', 'veo3_fast', 'veo3_lite'], { error: 'model must be one of veo3, veo3_fast, veo3_lite' }).nullish(),
  generationType: z
    .enum(['TEXT_2_VIDEO', 'FIRST_AND_LAST_FRAMES_2_VIDEO', 'REFERENCE_2_VIDEO'], {
      error: 'generationType must be one of TEXT_2_VIDEO, FIRST_AND_LAST_FRAMES_2_VIDEO, REFERENCE_2_VIDEO',
    })
    .nullish(),
  aspectRatio: aspectRatioField,
  aspect_ratio: aspectRatioField,
  seeds: seedField,
  seed: seedField,
  callBackUrl: callbackField,
  enableFallback: flag('enableFallback'),
  enableTranslation: flag('enableTranslation'),
  watermark: watermarkField,
});

/** `POST /api/v1/veo/extend`. */
export const extendBodySchema = z.object({
  taskId: z.string({ error: 'taskId must be text' }).trim().min(1, 'taskId is required').max(128, 'taskId is too long'),
  prompt: promptField,
  seeds: seedField,
  seed: seedField,
  watermark: watermarkField,
  callBackUrl: callbackField,
  model: z.enum(['fast', 'quality'], { error: 'model must be fast or quality' }).nullish(),
});

/** `POST /api/v1/veo/get-4k-video`. */
export const fourKBodySchema = z.object({
  taskId: z.string({ error: 'taskId must be text' }).trim().min(1, 'taskId is required').max(128, 'taskId is too long'),
  index: z.number({ error: 'index must be an integer' }).int('index must be an integer').min(0).nullish(),
  callBackUrl: callbackField,
});

/**
 * `POST /api/v1/callbacks/redeliver`: one delivery, or every exhausted one of the key. No body,
 * or `null`, is an empty one (the route then says which field it needs).
 */
export const redeliverBodySchema = z.preprocess(
  (body) => body ?? {},
  z.object({
    deliveryId: z.string({ error: 'deliveryId must be text' }).trim().min(1).max(128).nullish(),
    exhausted: z.boolean({ error: 'exhausted must be true or false' }).nullish(),
  }),
);

/**
 * A query parameter given once. Fastify's query parser makes a list of a repeated parameter;
 * the dialect takes each one once, so a list is refused, whatever its values.
 */
const queryParameter = (name: string) =>
  z.string({ error: (issue) => (Array.isArray(issue.input) ? `${name} must be given once` : `${name} must be text`) });

const TASK_ID_MAX_LENGTH = 128;
const taskIdParameter = queryParameter('taskId').trim().min(1, 'taskId is required').max(TASK_ID_MAX_LENGTH, 'taskId is too long');

/** `GET /api/v1/veo/record-info` and `GET /api/v1/callbacks`. */
export const taskIdQuerySchema = withQuickCheck(
  z.object({ taskId: taskIdParameter.meta({ description: 'The task id that the create answered.' }) }),
  textFieldCheck('taskId', { trim: true, minLength: 1, maxLength: TASK_ID_MAX_LENGTH }),
);

/** `GET /api/v1/tasks/:taskId`. */
export const taskPathParams = withQuickCheck(z.object({ taskId: z.string() }), textFieldCheck('taskId', { trim: false, minLength: 0, maxLength: Infinity }));

/** `GET /api/v1/veo/get-1080p-video`. */
export const upgradeQuerySchema = z.object({
  taskId: taskIdParameter,
  index: queryParameter('index').optional().meta({ description: 'The output video (only 0 exists).' }),
});

/**
 * The Veo dialect's one-line message for a request that does not match its route's schema (the
 * scope's schema error formatter): a missing field "is required"; otherwise the field's own words.
 */
export function veoSchemaError(errors: readonly FastifySchemaValidationError[], part: string): ValidationError {
  return veoValidationError(firstIssue(errors), part);
}

function veoValidationError(issue: SchemaIssue, part: string): ValidationError {
  if (issue.path.length === 0 && part === 'body') return new ValidationError('The request body must be a JSON object');
  const field = issue.path.join('.');
  return new ValidationError(issue.code === 'invalid_type' && issue.input === undefined ? `${field} is required` : issue.message, field);
}

/** Validates a body outside a route, with the same words as the routes' validation. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw veoValidationError(parsed.error.issues[0]!, 'body');
}

const generationTypeModes: Record<string, GenerationMode> = {
  TEXT_2_VIDEO: 'text',
  FIRST_AND_LAST_FRAMES_2_VIDEO: 'first_and_last_frames',
  REFERENCE_2_VIDEO: 'reference_images',
};

type GenerateBody = z.infer<typeof generateBodySchema>;

/** The engine's parameters for a generate body, with the dialect's cross-field rules applied. */
export function generationParameters(body: GenerateBody): TaskParameters {
  const imageUrls = body.imageUrls ?? [];
  const model = body.model ?? 'veo3_fast';
  const generationType = body.generationType ?? (imageUrls.length === 0 ? 'TEXT_2_VIDEO' : 'FIRST_AND_LAST_FRAMES_2_VIDEO');
  if (generationType === 'TEXT_2_VIDEO' && imageUrls.length > 0) {
    throw new ValidationError('TEXT_2_VIDEO takes no imageUrls; use FIRST_AND_LAST_FRAMES_2_VIDEO or REFERENCE_2_VIDEO', 'generationType');
  }
  if (generationType === 'FIRST_AND_LAST_FRAMES_2_VIDEO' && (imageUrls.length < 1 || imageUrls.length > 2)) {
    throw new ValidationError('FIRST_AND_LAST_FRAMES_2_VIDEO takes 1 or 2 imageUrls', 'imageUrls');
  }
  if (generationType === 'REFERENCE_2_VIDEO') {
    if (imageUrls.length < 1) throw new ValidationError('REFERENCE_2_VIDEO takes 1 to 3 imageUrls', 'imageUrls');
    if (model !== 'veo3_fast') throw new ValidationError('REFERENCE_2_VIDEO works only with model veo3_fast', 'model');
  }
  for (const url of imageUrls) {
    if (!/^(https?:\/\/|data:image\/)/i.test(url)) {
      throw new ValidationError('imageUrls must be http(s) URLs or data:image URIs', 'imageUrls');
    }
  }
  const ratio = body.aspectRatio ?? body.aspect_ratio ?? '16:9';
  // The dialect makes 8 s, 720p videos with sound: the engine's defaults.
  return withParameterDefaults({
    prompt: body.prompt,
    model,
    aspectRatio: ratio === 'auto' ? (imageUrls.length > 0 ? 'auto' : '16:9') : ratio,
    mode: generationTypeModes[generationType]!,
    imageUrls,
    watermark: body.watermark,
  });
}

/** What `paramJson` and the callback's `promptJson` echo back: the request, as understood. */
export function generateEcho(body: GenerateBody, parameters: TaskParameters, seed: number | undefined) {
  return {
    prompt: body.prompt,
    ...(parameters.imageUrls.length > 0 ? { imageUrls: parameters.imageUrls.map(redactDataUri) } : {}),
    model: parameters.model,
    generationType: Object.entries(generationTypeModes).find(([, mode]) => mode === parameters.mode)![0],
    aspectRatio: body.aspectRatio === 'auto' || body.aspect_ratio === 'auto' ? 'Auto' : parameters.aspectRatio,
    ...(seed !== undefined ? { seeds: seed } : {}),
    ...(body.callBackUrl ? { callBackUrl: body.callBackUrl } : {}),
    enableFallback: body.enableFallback ?? false,
    enableTranslation: body.enableTranslation ?? true,
    ...(body.watermark ? { waterMark: body.watermark } : {}),
  };
}

/** Data URIs can be megabytes; the echo keeps only their type. */
function redactDataUri(url: string): string {
  return url.startsWith('data:') ? `${url.slice(0, Math.max(5, url.indexOf(',')))},…` : url;
}
