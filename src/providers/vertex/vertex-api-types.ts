import { z } from 'zod';

/** Media in a Vertex instance: exactly one of inline bytes or a `gs://` object (§2.3, a union field). */
export type VertexMedia =
  | { readonly bytesBase64Encoded: string; readonly mimeType: string }
  | { readonly gcsUri: string; readonly mimeType: string };

/** The body of `POST …/models/{model}:predictLongRunning` on Vertex (upstream-providers.md §2.3). */
export interface VertexCreateBody {
  readonly instances: ReadonlyArray<{
    readonly prompt: string;
    readonly image?: VertexMedia;
    readonly lastFrame?: VertexMedia;
    readonly video?: VertexMedia;
    readonly referenceImages?: ReadonlyArray<{ readonly image: VertexMedia; readonly referenceType: 'asset' }>;
  }>;
  readonly parameters: {
    readonly sampleCount: 1;
    readonly durationSeconds: number;
    readonly aspectRatio?: '16:9' | '9:16';
    readonly resolution: '720p' | '1080p';
    readonly generateAudio: boolean;
    readonly personGeneration: 'allow_all' | 'allow_adult';
    readonly seed?: number;
    readonly negativePrompt?: string;
    readonly storageUri?: string;
  };
}

/** `projects/{P}/locations/{L}/publishers/google/models/{M}/operations/{id}`: nothing else goes into a URL. */
export const operationNamePattern = /^projects\/[a-z0-9-]+\/locations\/[a-z0-9-]+\/publishers\/google\/models\/[A-Za-z0-9._-]+\/operations\/[A-Za-z0-9_-]+$/;

/** The model resource an operation belongs to: its poll goes to `{resource}:fetchPredictOperation`. */
export function operationResource(name: string): string {
  return name.slice(0, name.indexOf('/operations/'));
}

/** The location an operation runs in. */
export function operationLocation(name: string): string {
  return /\/locations\/([a-z0-9-]+)\//.exec(name)?.[1] ?? '';
}

export const createResponseSchema = z.object({ name: z.string().regex(operationNamePattern) });

/** `fetchPredictOperation`'s answer (§2.4): videos as `gcsUri` with `storageUri`, else inline bytes. */
export const operationSchema = z.object({
  name: z.string().optional(),
  done: z.boolean().nullish(),
  error: z.object({ code: z.number().optional(), message: z.string().optional() }).passthrough().optional(),
  response: z
    .object({
      videos: z.array(z.object({ gcsUri: z.string().optional(), bytesBase64Encoded: z.string().optional(), mimeType: z.string().optional() }).passthrough()).nullish(),
      raiMediaFilteredCount: z.number().nullish(),
      raiMediaFilteredReasons: z.array(z.string()).nullish(),
    })
    .passthrough()
    .optional(),
});

export type VertexOperation = z.infer<typeof operationSchema>;

/** Google's error envelope on any failed HTTP call. */
export const errorEnvelopeSchema = z.object({
  error: z.object({ code: z.number().optional(), message: z.string().optional(), status: z.string().optional() }).passthrough(),
});

/** `gs://bucket/object` split for the GCS JSON API. */
export function parseGcsUri(uri: string): { bucket: string; object: string } | undefined {
  const match = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220})\/(.+)$/.exec(uri);
  return match ? { bucket: match[1]!, object: match[2]! } : undefined;
}

/**
 * The upstream output of a result Vertex answered inline: the bytes stay in the operation, read
 * again (with the pinned model and credential) when Segue takes custody.
 */
export const INLINE_OUTPUT_PREFIX = 'vertex-inline:';
