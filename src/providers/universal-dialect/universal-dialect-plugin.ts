import { type ProviderPlugin, secretFromEnvironment } from '../provider-plugin.js';
import { loopbackLinkRefusal } from '../public-link-reach.js';
import { DialectUpstreamClient } from '../dialect-upstream-client.js';
import { universalDialectEntrySchema } from './universal-dialect-entry.js';
import { UniversalDialectProvider } from './universal-dialect-provider.js';

/** An AIML-style universal video service (`/v2/video/generations`) — aimlapi.com, another Segue — as an upstream. */
export const universalDialectPlugin: ProviderPlugin<typeof universalDialectEntrySchema> = {
  kind: 'universal-dialect',
  entrySchema: universalDialectEntrySchema,
  create(name, entry, deps) {
    const client = new DialectUpstreamClient({
      label: `${name} (universal-dialect)`,
      baseUrl: entry.baseUrl,
      apiKey: secretFromEnvironment(entry.apiKeyEnv, name, deps.environment),
      timeoutMs: entry.requestTimeoutSeconds * 1000,
      maxDownloadBytes: deps.mediaMaxBytes,
      fetchMedia: deps.fetchMedia,
    });
    const linkRefusal = loopbackLinkRefusal(deps.publicUrl, entry.baseUrl, name);
    return { provider: new UniversalDialectProvider(name, entry, { client, now: deps.now, ...(linkRefusal ? { linkRefusal } : {}) }), close: () => client.close() };
  },
};
