import { createHash } from 'node:crypto';
import type { FastifySchemaValidationError } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.js';
import type { AspectRatio } from '../../domain/task.js';
import { firstIssue, textFieldCheck, withQuickCheck } from '../schema-compilers.js';

/**
 * A file of a multipart request, held in memory (the multipart limits bound it). Its JSON form,
 * which the Idempotency-Key fingerprint reads, is its name, type, size and digest, not its bytes.
 */
export class UploadedFile {
  constructor(
    readonly bytes: Buffer,
    readonly mimetype: string,
    readonly filename: string,
  ) {}

  toJSON() {
    return { filename: this.filename, size: this.bytes.length, sha256: createHash('sha256').update(this.bytes).digest('hex') };
  }
}

const uploaded = z.instanceof(UploadedFile).meta({ type: 'string', format: 'binary', description: 'A file part of a multipart/form-data request.' });

/** Longer links than any real one (signed object-store links run to about 2000 characters). */
const MAX_URL_LENGTH = 8192;

const quoted = (values: readonly string[]) => values.map((value) => `'${value}'`).join(', ');
const supported = (values: readonly string[]) => (issue: { input?: unknown }) =>
  `Invalid value: '${String(issue.input)}'. Supported values are: ${quoted(values)}.`;

/** `seconds` as OpenAI sends it (a string), or as a number from lenient JSON clients. */
const secondsOf = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .union([z.string(), z.number().int().transform(String)], { error: supported(values) })
    .pipe(z.enum(values, { error: supported(values) }));

/** The lengths of a generation; an extension always adds 7 s (the Gemini API's step). */
const generationSeconds = ['4', '6', '8'] as const;
/**
 * What an extension's `seconds` may say: the official SDK types it 4, 8 or 12, and 7 is what Veo
 * adds. Every extension here adds 7 s (the model's step); the video's `seconds` says the real total.
 */
const extensionSeconds = ['4', '7', '8', '12'] as const;

const sizes = { '1280x720': '16:9', '720x1280': '9:16' } as const satisfies Record<string, AspectRatio>;
/** OpenAI's default size (portrait). */
const DEFAULT_SIZE = '720x1280';

const prompt = z
  .string({ error: (issue) => (issue.input === undefined ? "Missing required parameter: 'prompt'." : "Invalid type for 'prompt': expected a string.") })
  .trim()
  .min(1, "Invalid 'prompt': empty string. Expected a string with minimum length 1.")
  .max(32_000, "Invalid 'prompt': string too long. Expected a string with maximum length 32000.");

const model = z.string({ error: "Invalid type for 'model': expected a string." }).trim().min(1).max(256).optional();

const imageUrl = z
  .string({ error: "Invalid type for 'input_reference.image_url': expected a string." })
  .trim()
  .refine((value) => /^(https?:\/\/\S+|data:image\/[\w.+-]+(;[^,]*)?,.+)$/is.test(value), "'input_reference.image_url' must be an http(s) URL or a data:image/… URL.")
  .refine((value) => value.startsWith('data:') || value.length <= MAX_URL_LENGTH, `'input_reference.image_url' must be at most ${MAX_URL_LENGTH} characters.`);

/** `POST /v1/videos`: JSON or multipart (the official SDK always sends multipart). */
export const createVideoBody = z
  .object({
    model,
    prompt,
    seconds: secondsOf(generationSeconds).default('4'),
    size: z.enum(Object.keys(sizes) as [keyof typeof sizes], { error: supported(Object.keys(sizes)) }).default(DEFAULT_SIZE),
    input_reference: z
      .union([uploaded, z.object({ image_url: imageUrl.optional(), file_id: z.string().optional() })], {
        error: "Invalid 'input_reference': expected a file upload or an object with 'image_url'.",
      })
      .optional()
      .meta({ description: 'The first frame: an uploaded image (JPEG, PNG or WebP), or `{image_url}` (a link or a data URL).' }),
  })
  .meta({ examples: [{ model: 'veo3_fast', prompt: 'a lighthouse at dusk, waves below', seconds: '8', size: '1280x720' }] })
  .transform((body) => ({ ...body, aspectRatio: sizes[body.size] as AspectRatio, durationSeconds: Number(body.seconds) }));

/** The video an extension continues: one of the caller's videos by id, or an uploaded file. */
const videoReference = z.union([uploaded, z.object({ id: z.string({ error: "Missing required parameter: 'video.id'." }).trim().min(1).max(128) })], {
  error: (issue) => (issue.input === undefined ? "Missing required parameter: 'video'." : "Invalid 'video': expected a file upload or an object with 'id'."),
});

/** `POST /v1/videos/extensions`: multipart (`video[id]` or a `video` file) or JSON. */
export const extendVideoBody = z
  .object({
    model,
    prompt,
    video: videoReference,
    seconds: secondsOf(extensionSeconds)
      .optional()
      .meta({ description: 'Accepted as the SDK sends it (4, 8, 12; or 7); an extension always adds 7 seconds here, and the answer\'s `seconds` is the real total.' }),
  })
  .meta({ examples: [{ video: { id: '4ac5a506a039917228d370a95d9aeaee' }, prompt: 'the camera keeps rising over the harbour' }] });

/** `POST /v1/videos/{video_id}/remix`. */
export const remixVideoBody = z.object({ prompt }).meta({ examples: [{ prompt: 'the same scene, now at night' }] });

/** The `{video_id}` of a video route. */
export const videoParams = withQuickCheck(
  z.object({ video_id: z.string().min(1).max(128) }),
  textFieldCheck('video_id', { trim: false, minLength: 1, maxLength: 128 }),
);

const once = (name: string) => z.string({ error: (issue) => (Array.isArray(issue.input) ? `'${name}' must be given once.` : `Invalid type for '${name}'.`) });

/** `GET /v1/videos`: a cursor page of the key's videos. */
export const listVideosQuery = z.object({
  after: once('after').trim().min(1).max(128).optional(),
  limit: once('limit')
    .regex(/^\d{1,3}$/, "Invalid 'limit': expected an integer from 1 to 100.")
    .transform(Number)
    .pipe(z.number().min(1, "Invalid 'limit': expected an integer from 1 to 100.").max(100, "Invalid 'limit': expected an integer from 1 to 100."))
    .default(20),
  order: once('order').pipe(z.enum(['asc', 'desc'], { error: supported(['asc', 'desc']) })).default('desc'),
});

/** `GET /v1/videos/{video_id}/content`. */
export const contentQuery = z.object({
  variant: once('variant')
    .pipe(z.enum(['video', 'thumbnail'], { error: (issue) => `${supported(['video', 'thumbnail'])(issue)} (No spritesheet is made here.)` }))
    .default('video'),
});

/**
 * The OpenAI-style 400 for a request that does not match its route's schema (the scope's schema
 * error formatter): the issue's message, `param` naming the field.
 */
export function openAiSchemaError(errors: readonly FastifySchemaValidationError[], part: string): ValidationError {
  const issue = firstIssue(errors);
  const param = issue.path.map(String).join('.');
  if (issue.path.length === 0) return new ValidationError(`The request ${part === 'querystring' ? 'query' : part} could not be read: ${issue.message}`);
  const missing = issue.code === 'invalid_type' && issue.input === undefined;
  return new ValidationError(missing && !issue.message.startsWith('Missing') ? `Missing required parameter: '${param}'.` : issue.message, param);
}

/** The image type of an upload, by its first bytes (clients often send no content type). */
export function imageTypeOf(bytes: Buffer): string | undefined {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return undefined;
}
