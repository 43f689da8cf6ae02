import { z } from 'zod';

/** Seconds, as entries write them. */
export const seconds = z.number().positive();

/** Limits every entry may carry: how many tasks at once, how many creates per minute, when to stop trying. */
export const entryLimits = {
  /** Tasks running on this entry at once; more wait queued (Veo projects allow about 10). */
  maxConcurrent: z.number().int().positive().default(10),
  /** Creates per minute (Gemini preview models allow about 10); more wait queued. */
  requestsPerMinute: z.number().positive().optional(),
  /** Consecutive retryable failures that open the circuit breaker, and how long it stays open. */
  breakerThreshold: z.number().int().positive().default(5),
  breakerCooldownSeconds: seconds.default(30),
  /** Which extension methods this entry may run (all it can, when absent). */
  extendMethods: z.array(z.enum(['native', 'bridge', 'local'])).min(1).optional(),
  /** Upstream model ids the upstream no longer serves: a model mapped to one is refused before payment. */
  retiredModelIds: z.array(z.string().min(1)).default([]),
};
