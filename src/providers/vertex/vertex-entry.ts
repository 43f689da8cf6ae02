import { z } from 'zod';
import { entryLimits, seconds } from '../entry-limits.js';
import { veoModelSchema } from '../veo-models.js';

/** A Vertex model id, or the id with what it can do (Veo's defaults by id: `veoModelSpec`). */
const vertexModelSchema = veoModelSchema(z.string().min(1));

/** Vertex's location names (`us-central1`, `europe-west4`, `global`); they go into URLs. */
const location = z.string().regex(/^[a-z][a-z0-9-]{1,40}$/, 'a Vertex location such as us-central1');

/**
 * One Vertex AI project (upstream-providers.md §2, addendum A.2): a service account's key file,
 * named by `credentialsFileEnv`, signs the token requests; results come inline or, with
 * `storageUri`, as objects in the operator's bucket, read through the GCS JSON API.
 */
export const vertexEntrySchema = z.object({
  kind: z.literal('vertex'),
  project: z.string().regex(/^[a-z0-9][a-z0-9-]{1,60}$/, 'a Google Cloud project id'),
  location: location.default('us-central1'),
  /** The environment variable that holds the PATH of the service account's JSON key file. */
  credentialsFileEnv: z.string().min(1),
  /** Vertex's regional endpoint; `https://{location}-aiplatform.googleapis.com` when absent. */
  baseUrl: z.url().optional(),
  /** Public model → Vertex model id. The preview ids answer 404 on Vertex since 2026-04. */
  models: z.record(z.string(), vertexModelSchema).default({
    veo3: 'veo-3.1-generate-001',
    veo3_fast: 'veo-3.1-fast-generate-001',
  }),
  /** With `gs://bucket/prefix`, Vertex writes results there (read back with the same token); else inline bytes. */
  storageUri: z.string().regex(/^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}(\/.*)?$/, 'a gs://bucket/prefix URI').optional(),
  /** The GCS JSON API's origin (a test or an emulator may override it). */
  storageBaseUrl: z.url().default('https://storage.googleapis.com'),
  /** Whether extension takes 1080p sources too (the docs conflict; 720p only by default). */
  extendFrom1080p: z.boolean().default(false),
  firstPollSeconds: seconds.default(10),
  /** Polls come every `pollSeconds` ± a third, with jitter (10–20 s by default). */
  pollSeconds: seconds.default(15),
  /** After this long without an answer the task goes to reconciliation (it keeps being polled). */
  timeoutSeconds: seconds.default(15 * 60),
  requestTimeoutSeconds: seconds.default(60),
  ...entryLimits,
  /** Model ids Vertex no longer serves: a route that maps a model to one is refused before payment. */
  retiredModelIds: z.array(z.string().min(1)).default(['veo-3.1-generate-preview', 'veo-3.1-fast-generate-preview']),
  /** Creates per minute per project: the preview ids' quota was 10/min (A.2); the GA ids share the default. */
  requestsPerMinute: z.number().positive().default(10),
});

export type VertexEntry = z.infer<typeof vertexEntrySchema>;

/** Vertex's longest extendable source (upstream-providers.md §2.5). */
export const VERTEX_MAX_EXTEND_SOURCE_SECONDS = 30;
