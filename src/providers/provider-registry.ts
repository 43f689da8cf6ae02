import type { VideoProvider } from '../ports/video-provider.js';

/**
 * The providers this process knows and which one serves a public model. With no routing file,
 * every model runs on the embedded local engine.
 */
export class ProviderRegistry {
  private readonly providers = new Map<string, VideoProvider>();

  constructor(providers: readonly VideoProvider[], private readonly defaultProvider: string) {
    for (const provider of providers) this.providers.set(provider.name, provider);
    if (!this.providers.has(defaultProvider)) throw new Error(`unknown default provider ${defaultProvider}`);
  }

  /** The provider that runs new tasks of this public model. */
  providerFor(_model: string): VideoProvider {
    return this.get(this.defaultProvider);
  }

  get(name: string): VideoProvider {
    const provider = this.providers.get(name);
    if (!provider) throw new Error(`unknown provider ${name}`);
    return provider;
  }
}
