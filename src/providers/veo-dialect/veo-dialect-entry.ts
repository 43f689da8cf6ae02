import { z } from 'zod';
import { entryLimits, seconds } from '../entry-limits.js';

/**
 * A kie-style Veo service (`/api/v1/veo/*`) as an upstream: another Segue, kie.ai, or any
 * service that speaks the same dialect.
 */
export const veoDialectEntrySchema = z.object({
  kind: z.literal('veo-dialect'),
  /** The service's base URL (the `/api/v1/veo/…` paths go under it). */
  baseUrl: z.url(),
  /** The environment variable that holds the service's API key (sent as a Bearer token). */
  apiKeyEnv: z.string().min(1),
  /** Public model → the service's `model` value. Models not listed do not run here. */
  models: z.record(z.string(), z.string().min(1)).default({ veo3: 'veo3', veo3_fast: 'veo3_fast' }),
  /**
   * With the service's `webhookHmacKey` (kie: per account), Segue hands it a `callBackUrl` and
   * takes its callbacks (verified by `X-Webhook-Signature`) as hints to poll at once; without it,
   * Segue only polls. Either way `record-info` decides, never the callback.
   */
  webhookHmacKeyEnv: z.string().min(1).optional(),
  /** Whether the service upgrades its own videos with `get-1080p-video`. */
  upgrade1080p: z.boolean().default(true),
  firstPollSeconds: seconds.default(15),
  /** Polls come every `pollSeconds` ± a third (kie's own samples poll every 30 s). */
  pollSeconds: seconds.default(20),
  timeoutSeconds: seconds.default(20 * 60),
  /** A source older than this is not extended natively (kie keeps records 14 days). */
  nativeExtensionMaxAgeSeconds: seconds.default(13 * 24 * 3600),
  requestTimeoutSeconds: seconds.default(60),
  ...entryLimits,
});

export type VeoDialectEntry = z.infer<typeof veoDialectEntrySchema>;
