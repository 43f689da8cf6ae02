import { z } from 'zod';
import { ConfigError } from '../config/config.js';
import { readJsonConfigFile } from '../config/json-config-file.js';

const seconds = z.number().positive();

/** Limits every entry may carry: how many tasks at once, how many creates per minute, when to stop trying. */
const entryLimits = {
  /** Tasks running on this entry at once; more wait queued (Veo projects allow about 10). */
  maxConcurrent: z.number().int().positive().default(10),
  /** Creates per minute (Gemini preview models allow about 10); more wait queued. */
  requestsPerMinute: z.number().positive().optional(),
  /** Consecutive retryable failures that open the circuit breaker, and how long it stays open. */
  breakerThreshold: z.number().int().positive().default(5),
  breakerCooldownSeconds: seconds.default(30),
};

/**
 * A Gemini model id, or the id with what it can do. By default an id containing "lite" cannot
 * extend, and only the full (not "fast", not "lite") model takes reference images (§1.1).
 */
const geminiModelSchema = z.union([
  z.string().min(1),
  z.object({ id: z.string().min(1), extend: z.boolean().optional(), referenceImages: z.boolean().optional() }),
]);

const geminiEntrySchema = z.object({
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
  /** With a secret, Gemini is asked to call `SEGUE_PUBLIC_URL/hooks/gemini` when a video is ready. */
  webhookSecretEnv: z.string().min(1).optional(),
  requestTimeoutSeconds: seconds.default(60),
  ...entryLimits,
});

const localEntrySchema = z.object({
  kind: z.literal('local'),
  ...entryLimits,
  maxConcurrent: z.number().int().positive().default(1_000_000),
});

const entrySchema = z.discriminatedUnion('kind', [geminiEntrySchema, localEntrySchema]);

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

export type GeminiEntry = z.infer<typeof geminiEntrySchema>;
export type LocalEntry = z.infer<typeof localEntrySchema>;
export type ProviderEntry = z.infer<typeof entrySchema>;
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

/** The secret an entry names by environment variable; a missing one stops start-up. */
export function secretFromEnvironment(variable: string, entryName: string, environment: NodeJS.ProcessEnv = process.env): string {
  const value = environment[variable];
  if (!value) throw new ConfigError(`SEGUE_PROVIDERS: provider ${entryName} reads its secret from ${variable}, which is not set`);
  return value;
}
