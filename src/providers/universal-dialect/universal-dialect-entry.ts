import { z } from 'zod';
import { entryLimits, seconds } from '../entry-limits.js';

/** The service's model id for each operation of one public model; an operation left out does not run there. */
const operationModelsSchema = z
  .object({
    text: z.string().min(1).optional(),
    image: z.string().min(1).optional(),
    firstLast: z.string().min(1).optional(),
    reference: z.string().min(1).optional(),
    extend: z.string().min(1).optional(),
  })
  .strict();

export type OperationModels = z.infer<typeof operationModelsSchema>;

/** The model ids of the AIML-style dialect (api-dialects.md §B.2). */
export const defaultUniversalModels: Readonly<Record<string, OperationModels>> = {
  veo3: {
    text: 'google/veo-3.1-t2v',
    image: 'google/veo-3.1-i2v',
    firstLast: 'google/veo-3.1-first-last-image-to-video',
    reference: 'google/veo-3.1-reference-to-video',
    extend: 'google/veo3-1-extend-video',
  },
  veo3_fast: {
    text: 'google/veo-3.1-t2v-fast',
    image: 'google/veo-3.1-i2v-fast',
    firstLast: 'google/veo-3.1-first-last-image-to-video-fast',
    extend: 'google/veo3-1-fast-extend-video',
  },
};

/**
 * An AIML-style universal video service (`POST /v2/video/generations`, `GET …?generation_id=`)
 * as an upstream: aimlapi.com, another Segue, or any service that speaks the same dialect.
 */
export const universalDialectEntrySchema = z.object({
  kind: z.literal('universal-dialect'),
  /** The service's base URL (`/v2/video/generations` goes under it). */
  baseUrl: z.url(),
  /** The environment variable that holds the service's API key (sent as a Bearer token). */
  apiKeyEnv: z.string().min(1),
  /** Public model → the service's model id per operation; replaces the default map when given. */
  models: z.record(z.string(), operationModelsSchema).default(defaultUniversalModels),
  firstPollSeconds: seconds.default(15),
  /** Polls come every `pollSeconds` ± a third (the dialect's SDK polls every 10 s). */
  pollSeconds: seconds.default(15),
  timeoutSeconds: seconds.default(20 * 60),
  requestTimeoutSeconds: seconds.default(60),
  ...entryLimits,
});

export type UniversalDialectEntry = z.infer<typeof universalDialectEntrySchema>;
