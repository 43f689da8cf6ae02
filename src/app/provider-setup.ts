import { ConfigError, type Config } from '../config/config.js';
import { ProviderRegistry } from '../engine/routing/provider-registry.js';
import type { ProviderEntryPlacement } from '../engine/routing/provider-registry.js';
import type { ScratchSpace } from '../media/scratch-space.js';
import type { SafeHttpClient } from '../net/safe-http.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { ProviderGateStore } from '../ports/provider-gate-store.js';
import { EntryConfigError, type ProviderInstance, type ProviderPluginDependencies } from '../providers/provider-plugin.js';
import { loadProvidersFile, pluginFor, type ProviderEntry } from '../providers/providers-file.js';

export interface ProviderSetupDependencies {
  readonly config: Config;
  readonly blobs: BlobStore;
  readonly outbound: SafeHttpClient;
  readonly scratch: ScratchSpace;
  readonly requestRender: (taskId: string) => Promise<void>;
  /** Where the entries' gates (request rates, breakers) are kept: shared by every process. */
  readonly gates: ProviderGateStore;
  readonly now: () => number;
  readonly environment?: NodeJS.ProcessEnv;
}

/** Builds every entry of SEGUE_PROVIDERS (or the local engine alone) through its kind's plug-in. */
export function setUpProviders(deps: ProviderSetupDependencies): { registry: ProviderRegistry; close: () => Promise<void> } {
  const file = loadProvidersFile(deps.config.providersFile);
  const pluginDeps: ProviderPluginDependencies = {
    environment: deps.environment ?? process.env,
    publicUrl: deps.config.publicUrl,
    mediaMaxBytes: deps.config.mediaMaxBytes,
    mediaTimeoutMs: deps.config.mediaTimeoutMs,
    fetchMedia: async (url, destination, limits) => {
      await deps.outbound.download(url, destination, { maxBytes: limits.maxBytes, timeoutMs: deps.config.mediaTimeoutMs, signal: limits.signal });
    },
    scratch: deps.scratch,
    blobs: deps.blobs,
    requestRender: deps.requestRender,
    now: deps.now,
    allowPrivateNetworks: deps.config.allowPrivateNetworks,
  };
  const instances: ProviderInstance[] = [];
  const entries: Record<string, ProviderEntryPlacement> = {};
  for (const [name, entry] of Object.entries(file.providers)) {
    const instance = build(name, entry, pluginDeps);
    instances.push(instance);
    entries[name] = { provider: instance.provider, limits: entry, extendMethods: entry.extendMethods, ...(instance.webhook ? { webhook: instance.webhook } : {}) };
  }
  return {
    registry: new ProviderRegistry(entries, file.routes, deps.gates, deps.now),
    close: async () => {
      await Promise.all(instances.map((instance) => instance.close?.()));
    },
  };
}

function build(name: string, entry: ProviderEntry, deps: ProviderPluginDependencies): ProviderInstance {
  try {
    // Each plug-in checks its own entries; the discriminated union guarantees kind and schema agree.
    return (pluginFor(entry).create as (name: string, entry: ProviderEntry, deps: ProviderPluginDependencies) => ProviderInstance)(name, entry, deps);
  } catch (error) {
    if (error instanceof EntryConfigError) throw new ConfigError(`SEGUE_PROVIDERS: ${error.message}`);
    throw error;
  }
}
