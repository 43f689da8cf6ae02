import { z } from 'zod';
import { readJsonConfigFile } from '../config/json-config-file.js';
import { providerPlugins } from './provider-kinds.js';

type Plugin = (typeof providerPlugins)[number];

/** An entry of the providers file: any kind in `providerPlugins`, checked by that kind's schema. */
export type ProviderEntry = z.infer<Plugin['entrySchema']>;

const entrySchema = z.discriminatedUnion(
  'kind',
  providerPlugins.map((plugin) => plugin.entrySchema) as unknown as [Plugin['entrySchema'], ...Plugin['entrySchema'][]],
);

const providersFileSchema = z
  .object({
    providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'names are lower-case letters, digits, - and _'), entrySchema),
    routes: z.record(z.string(), z.array(z.string()).min(1)),
  })
  .superRefine((file, context) => {
    for (const [model, chain] of Object.entries(file.routes)) {
      chain.forEach((name, index) => {
        if (!file.providers[name]) context.addIssue({ code: 'custom', path: ['routes', model, index], message: `no provider named ${name}` });
      });
    }
    if (!file.routes['*']) context.addIssue({ code: 'custom', path: ['routes'], message: 'a "*" route (every other model) is required' });
  });

export type ProvidersFile = z.infer<typeof providersFileSchema>;

/** With no file, everything runs on the embedded engine. */
export const defaultProviders: ProvidersFile = providersFileSchema.parse({
  providers: { local: { kind: 'local' } },
  routes: { '*': ['local'] },
});

/** Reads and checks SEGUE_PROVIDERS; a bad file stops start-up with the offending path. */
export function loadProvidersFile(file: string | undefined): ProvidersFile {
  return file ? readJsonConfigFile('SEGUE_PROVIDERS', file, providersFileSchema) : defaultProviders;
}

/** The plug-in that builds entries of this kind. */
export function pluginFor(entry: ProviderEntry): Plugin {
  const plugin = providerPlugins.find((candidate) => candidate.kind === entry.kind);
  if (!plugin) throw new Error(`no provider plug-in of kind ${entry.kind}`);
  return plugin;
}
