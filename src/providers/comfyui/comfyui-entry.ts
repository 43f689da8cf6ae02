import { z } from 'zod';
import { entryLimits, seconds } from '../entry-limits.js';

/** A workflow file, relative to the providers file. */
const workflowFile = z.string().min(1);

export const comfyUiEntrySchema = z.object({
  kind: z.literal('comfyui'),
  /** The ComfyUI server (`python main.py --listen`), e.g. `http://gpu-box:8188`. */
  baseUrl: z.url(),
  /**
   * One workflow in ComfyUI's API format per operation: `generate` (text to video), `image`
   * (image to video; also continues a video from its last frame: a bridge), `extend` (continues
   * an uploaded video). At least one.
   */
  workflows: z
    .object({ generate: workflowFile.optional(), image: workflowFile.optional(), extend: workflowFile.optional() })
    .strict()
    .refine((workflows) => Boolean(workflows.generate ?? workflows.image ?? workflows.extend), 'name at least one workflow (generate, image or extend)'),
  /** The public models this box serves (any model routed to it, when absent). */
  models: z.array(z.string().min(1)).min(1).optional(),
  /** With a token in this variable, requests carry `Authorization: Bearer …` (a box behind an authenticating proxy). */
  tokenEnv: z.string().min(1).optional(),
  /**
   * What a second of video made on this box costs you (USD: the GPU's hour divided by the seconds
   * it makes in an hour); each result records it as `upstreamCostUsd`. Clients pay the price table.
   */
  pricePerSecond: z.number().nonnegative().optional(),
  /** `{{negative_prompt}}` when the request has none. */
  defaultNegativePrompt: z.string().default(''),
  firstPollSeconds: seconds.default(5),
  pollSeconds: seconds.default(5),
  /** Open models on one GPU take minutes; after this long the task goes to reconciliation (it keeps being polled). */
  timeoutSeconds: seconds.default(60 * 60),
  requestTimeoutSeconds: seconds.default(60),
  ...entryLimits,
  /** A GPU box renders one prompt at a time; more wait queued in Segue. */
  maxConcurrent: z.number().int().positive().default(1),
});

export type ComfyUiEntry = z.infer<typeof comfyUiEntrySchema>;
