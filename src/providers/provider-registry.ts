import type { VideoProvider } from '../ports/video-provider.js';
import { type GateReport, ProviderGate } from './provider-gate.js';
import type { ProviderEntry, ProvidersFile } from './providers-file.js';

interface RegisteredEntry {
  readonly provider: VideoProvider;
  readonly gate: ProviderGate;
}

/**
 * The provider entries this process knows (each an account on an upstream, or the local engine)
 * and the routes that send each public model to an ordered chain of them.
 */
export class ProviderRegistry {
  private readonly entries = new Map<string, RegisteredEntry>();

  constructor(
    file: ProvidersFile,
    build: (name: string, entry: ProviderEntry) => VideoProvider,
    now: () => number = Date.now,
  ) {
    for (const [name, entry] of Object.entries(file.providers)) {
      this.entries.set(name, { provider: build(name, entry), gate: new ProviderGate(entry, now) });
    }
    this.routes = file.routes;
  }

  private readonly routes: Readonly<Record<string, readonly string[]>>;

  /**
   * The chain for the first of these model ids that has a route (most specific first, e.g. the
   * universal dialect's id, then the public model), else the `*` route.
   */
  routeFor(modelIds: readonly string[]): readonly string[] {
    for (const id of modelIds) {
      const route = this.routes[id];
      if (route) return route;
    }
    return this.routes['*']!;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  get(name: string): VideoProvider {
    return this.entry(name).provider;
  }

  gate(name: string): ProviderGate {
    return this.entry(name).gate;
  }

  /** Each entry's breaker and limits, for `/readyz`. */
  report(): Record<string, GateReport> {
    return Object.fromEntries([...this.entries].map(([name, { gate }]) => [name, gate.report()]));
  }

  private entry(name: string): RegisteredEntry {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`unknown provider ${name}`);
    return entry;
  }
}
