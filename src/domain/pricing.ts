import { z } from 'zod';
import { EXTENSION_SECONDS, type Operation, type Resolution } from './task.js';

/**
 * The price table: credits per second of new video, by public model and operation; a factor
 * per output resolution of generations; credits per second of video for upgrades. Read from
 * the JSON file named by SEGUE_PRICES, or these defaults.
 */
export const priceTableSchema = z.object({
  perSecond: z.record(
    z.string(),
    z.object({ generate: z.number().int().nonnegative().optional(), extend: z.number().int().nonnegative().optional() }),
  ),
  resolutionFactor: z.record(z.enum(['720p', '1080p']), z.number().positive()).default({ '720p': 1, '1080p': 1.5 }),
  upgradePerSecond: z.object({ '1080p': z.number().int().nonnegative(), '4k': z.number().int().nonnegative() }),
});

export type PriceTable = z.infer<typeof priceTableSchema>;

export const defaultPriceTable: PriceTable = {
  perSecond: {
    veo3: { generate: 32, extend: 32 },
    veo3_fast: { generate: 8, extend: 8 },
    veo3_lite: { generate: 4 },
  },
  resolutionFactor: { '720p': 1, '1080p': 1.5 },
  upgradePerSecond: { '1080p': 1, '4k': 16 },
};

export interface PricedWork {
  readonly operation: Operation;
  readonly model: string;
  readonly durationSeconds: number;
  readonly resolution: Resolution;
  /** For upgrades: how long the upgraded video is. */
  readonly sourceSeconds?: number;
}

/** The price of one task in whole credits, or undefined when the table has none for it. */
export function priceOf(table: PriceTable, work: PricedWork): number | undefined {
  if (work.operation === 'upgrade_1080p' || work.operation === 'upgrade_4k') {
    const rate = table.upgradePerSecond[work.operation === 'upgrade_4k' ? '4k' : '1080p'];
    return Math.ceil(rate * (work.sourceSeconds ?? 0));
  }
  const rate = table.perSecond[work.model]?.[work.operation];
  if (rate === undefined) return undefined;
  const seconds = work.operation === 'extend' ? EXTENSION_SECONDS : work.durationSeconds;
  const factor = work.operation === 'generate' ? (table.resolutionFactor[work.resolution] ?? 1) : 1;
  return Math.ceil(rate * seconds * factor);
}
