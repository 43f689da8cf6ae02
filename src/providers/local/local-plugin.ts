import { z } from 'zod';
import { entryLimits } from '../entry-limits.js';
import type { ProviderPlugin } from '../provider-plugin.js';
import { LocalProvider } from './local-provider.js';

const localEntrySchema = z.object({
  kind: z.literal('local'),
  ...entryLimits,
  maxConcurrent: z.number().int().positive().default(1_000_000),
});

export type LocalEntry = z.infer<typeof localEntrySchema>;

/** The embedded engine: no key, no network, no GPU. */
export const localPlugin: ProviderPlugin<typeof localEntrySchema> = {
  kind: 'local',
  entrySchema: localEntrySchema,
  create: (name, _entry, deps) => ({ provider: new LocalProvider(deps.requestRender, deps.blobs, name) }),
};
