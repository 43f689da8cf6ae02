import { z } from 'zod';
import { entryLimits, seconds } from '../entry-limits.js';
import { veoModelSchema } from '../veo-models.js';
import { modelNamePattern } from './replicate-api-types.js';

/**
 * A Replicate model (`owner/name`), or the name with what its input schema takes. By default only
 * the full model (not "fast", not "lite") takes reference images, as `google/veo-3.1` does.
 */
const replicateModelSchema = veoModelSchema(z.string().regex(modelNamePattern, 'a Replicate model is owner/name'));

export const replicateEntrySchema = z.object({
  kind: z.literal('replicate'),
  /** The environment variable that holds the API token (the token itself never sits in the file). */
  apiTokenEnv: z.string().min(1),
  baseUrl: z.url().default('https://api.replicate.com'),
  /** Public model → Replicate model. Model names are configuration. */
  models: z.record(z.string(), replicateModelSchema).default({ veo3: 'google/veo-3.1', veo3_fast: 'google/veo-3.1-fast' }),
  firstPollSeconds: seconds.default(10),
  /** Polls come every `pollSeconds` ± a third, with jitter (10–20 s by default). */
  pollSeconds: seconds.default(15),
  /**
   * The task's deadline, sent as `Cancel-After`: Replicate aborts a prediction that has not started
   * by then (not billed) and cancels one still running. Segue cancels it itself a minute later if
   * Replicate did not, and only then fails the task.
   */
  timeoutSeconds: seconds.min(5).default(15 * 60),
  /**
   * With a secret (`GET /v1/webhooks/default/secret` answers it), predictions are created with a
   * webhook to `SEGUE_PUBLIC_URL/hooks/<entry name>`, `webhook_events_filter: ["completed"]`.
   */
  webhookSecretEnv: z.string().min(1).optional(),
  requestTimeoutSeconds: seconds.default(60),
  ...entryLimits,
});

export type ReplicateEntry = z.infer<typeof replicateEntrySchema>;
