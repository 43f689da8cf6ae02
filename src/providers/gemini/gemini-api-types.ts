import { z } from 'zod';

/** An inline image, as the Gemini API takes them (no GCS uris in Gemini mode). */
export interface GeminiImage {
  readonly bytesBase64Encoded: string;
  readonly mimeType: string;
}

/** The body of `POST /v1beta/models/{model}:predictLongRunning` (upstream-providers.md §1.3). */
export interface GeminiCreateBody {
  readonly instances: ReadonlyArray<{
    readonly prompt: string;
    readonly image?: GeminiImage;
    readonly lastFrame?: GeminiImage;
    readonly referenceImages?: ReadonlyArray<{ readonly image: GeminiImage; readonly referenceType: 'asset' }>;
    readonly video?: { readonly uri: string };
  }>;
  readonly parameters: {
    readonly sampleCount: 1;
    readonly durationSeconds: number;
    readonly aspectRatio?: '16:9' | '9:16';
    readonly resolution: '720p' | '1080p';
    readonly personGeneration: 'allow_all' | 'allow_adult';
    readonly negativePrompt?: string;
  };
  readonly webhookConfig?: { readonly uris: readonly string[]; readonly userMetadata: Readonly<Record<string, string>> };
}

/** Operation names are `models/{model}/operations/{id}`; anything else is not put in a URL. */
export const operationNamePattern = /^models\/[A-Za-z0-9._-]+\/operations\/[A-Za-z0-9_-]+$/;

export const createResponseSchema = z.object({ name: z.string().regex(operationNamePattern) });

/** `GET /v1beta/{operation}`: `done` may be missing while it runs (§1.5). */
export const operationSchema = z.object({
  name: z.string().optional(),
  done: z.boolean().nullish(),
  error: z.object({ code: z.number().optional(), message: z.string().optional() }).passthrough().optional(),
  response: z
    .object({
      generateVideoResponse: z
        .object({
          generatedSamples: z.array(z.object({ video: z.object({ uri: z.string().optional() }).passthrough().optional() })).nullish(),
          raiMediaFilteredCount: z.number().nullish(),
          raiMediaFilteredReasons: z.array(z.string()).nullish(),
        })
        .passthrough()
        .optional(),
    })
    .passthrough()
    .optional(),
});

export type GeminiOperation = z.infer<typeof operationSchema>;

/** Google's error envelope on any failed HTTP call. */
export const errorEnvelopeSchema = z.object({
  error: z.object({ code: z.number().optional(), message: z.string().optional(), status: z.string().optional() }).passthrough(),
});
