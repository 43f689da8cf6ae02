import { z } from 'zod';

/** Every answer of the dialect: `{code, msg, data}`, the real status in `code` (HTTP is usually 200). */
export const envelopeSchema = z.object({ code: z.number(), msg: z.string().nullish(), data: z.unknown().optional() }).passthrough();

/** Task ids go into query strings: anything unusual is refused before it reaches a URL. */
export const upstreamTaskIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/);

export const createdSchema = z.object({ taskId: upstreamTaskIdSchema }).passthrough();

/** `record-info` data: the flag decides; URLs as arrays (or, from some services, JSON-array strings). */
const urls = z.union([z.array(z.string()), z.string().transform((text, context) => {
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed as string[];
  } catch {
    // Not JSON: a single URL.
  }
  if (/^https?:\/\//.test(text)) return [text];
  context.addIssue({ code: 'custom', message: 'not a list of URLs' });
  return z.NEVER;
})]);

export const recordInfoSchema = z
  .object({
    taskId: z.string().optional(),
    successFlag: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
    errorCode: z.number().nullish(),
    errorMessage: z.string().nullish(),
    response: z
      .object({ resultUrls: urls.nullish(), fullResultUrls: urls.nullish(), originUrls: urls.nullish() })
      .passthrough()
      .nullish(),
  })
  .passthrough();

export type RecordInfo = z.infer<typeof recordInfoSchema>;

export const fullHdSchema = z.object({ resultUrl: z.string() }).passthrough();

/** `POST /api/v1/veo/generate`. */
export interface VeoGenerateBody {
  readonly prompt: string;
  readonly model: string;
  readonly generationType: 'TEXT_2_VIDEO' | 'FIRST_AND_LAST_FRAMES_2_VIDEO' | 'REFERENCE_2_VIDEO';
  readonly imageUrls?: readonly string[];
  readonly aspectRatio?: '16:9' | '9:16' | 'Auto';
  readonly seeds?: number;
  readonly callBackUrl?: string;
  readonly enableTranslation: boolean;
}

/** `POST /api/v1/veo/extend`: by the service's own task id. */
export interface VeoExtendBody {
  readonly taskId: string;
  readonly prompt: string;
  readonly model: 'fast' | 'quality';
  readonly seeds?: number;
  readonly callBackUrl?: string;
}
