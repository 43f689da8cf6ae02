import { z } from 'zod';
import { entryLimits, seconds } from '../entry-limits.js';
import { veoModelSchema } from '../veo-models.js';

/** A Gemini model id, or the id with what it can do (Veo's defaults by id: `veoModelSpec`). */
const geminiModelSchema = veoModelSchema(z.string().min(1));

export const geminiEntrySchema = z.object({
  kind: z.literal('gemini'),
  /** The environment variable that holds the API key (the key itself never sits in the file). */
  apiKeyEnv: z.string().min(1),
  baseUrl: z.url().default('https://generativelanguage.googleapis.com'),
  /** Public model → Gemini model id. Model ids are configuration: preview ids get retired. */
  models: z.record(z.string(), geminiModelSchema).default({
    veo3: 'veo-3.1-generate-preview',
    veo3_fast: 'veo-3.1-fast-generate-preview',
  }),
  firstPollSeconds: seconds.default(10),
  /** Polls come every `pollSeconds` ± a third, with jitter (10–20 s by default). */
  pollSeconds: seconds.default(15),
  /** After this long without an answer the task goes to reconciliation (it keeps being polled). */
  timeoutSeconds: seconds.default(15 * 60),
  /** A source older than this is not extended natively (Google keeps files 2 days; the margin covers the run). */
  nativeExtensionMaxAgeSeconds: seconds.default(47 * 3600),
  /** With a secret, Gemini is asked to call `SEGUE_PUBLIC_URL/hooks/<entry name>` when a video is ready. */
  webhookSecretEnv: z.string().min(1).optional(),
  requestTimeoutSeconds: seconds.default(60),
  ...entryLimits,
});

export type GeminiEntry = z.infer<typeof geminiEntrySchema>;
