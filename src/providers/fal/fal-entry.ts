import { z } from 'zod';
import { entryLimits, seconds } from '../entry-limits.js';
import { veoModelSchema } from '../veo-models.js';

/** What fal charges per second of video it makes (USD), with and without sound, as you configure it. */
const pricePerSecondSchema = z.object({ audio: z.number().nonnegative(), silent: z.number().nonnegative().optional() });

/**
 * A fal endpoint id (`fal-ai/veo3.1`, `fal-ai/veo3.1/fast`), or the id with what it can do and
 * costs. Submits go to the id, or to the id plus `/image-to-video`, `/first-last-frame-to-video`,
 * `/reference-to-video` or `/extend-video`. By default only the full (not "fast") model takes
 * reference images, as on Veo.
 */
const falModelSchema = veoModelSchema(z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)+$/, 'a fal endpoint id such as fal-ai/veo3.1'), {
  pricePerSecond: pricePerSecondSchema.optional(),
});

export const falEntrySchema = z.object({
  kind: z.literal('fal'),
  /** The environment variable that holds the fal key (sent as `Authorization: Key …`, never written in the file). */
  apiKeyEnv: z.string().min(1),
  baseUrl: z.url().default('https://queue.fal.run'),
  /** Public model → fal endpoint id. Endpoint ids are configuration. */
  models: z.record(z.string(), falModelSchema).default({ veo3: 'fal-ai/veo3.1', veo3_fast: 'fal-ai/veo3.1/fast' }),
  /** The entry's default price per second (USD), for models that name none; recorded with each result. */
  pricePerSecond: pricePerSecondSchema.optional(),
  firstPollSeconds: seconds.default(10),
  /** Polls come every `pollSeconds` ± a third, with jitter (10–20 s by default). */
  pollSeconds: seconds.default(15),
  /** After this long without an answer the task goes to reconciliation (it keeps being polled). */
  timeoutSeconds: seconds.default(15 * 60),
  /**
   * A request fal has not started (still `IN_QUEUE`) after this long is cancelled (fal bills
   * nothing before it starts) and the task fails with its credits released.
   */
  queueTimeoutSeconds: seconds.default(10 * 60),
  /** With true, submits carry `fal_webhook=SEGUE_PUBLIC_URL/hooks/<entry name>?task=…`. */
  webhooks: z.boolean().default(false),
  /** Where fal publishes the ED25519 keys its webhooks are signed with. */
  webhookJwksUrl: z.url().default('https://rest.alpha.fal.ai/.well-known/jwks.json'),
  /** How long fetched keys are trusted before they are fetched again (fal: at most 24 h). */
  webhookJwksCacheSeconds: seconds.max(24 * 3600).default(24 * 3600),
  /** Your fal user id: deliveries signed for another account are refused (unchecked when absent). */
  webhookUserId: z.string().min(1).optional(),
  requestTimeoutSeconds: seconds.default(60),
  ...entryLimits,
});

export type FalEntry = z.infer<typeof falEntrySchema>;
export type FalPricePerSecond = z.infer<typeof pricePerSecondSchema>;
