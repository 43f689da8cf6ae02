import type { GenerationMode, Operation } from '../../domain/task.js';
import { supports, type VideoProvider } from '../../ports/video-provider.js';
import { type GateReport, ProviderGate } from './provider-gate.js';
import type { ProviderEntry, ProvidersFile } from '../../providers/providers-file.js';

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
  private readonly routes: Readonly<Record<string, readonly string[]>>;

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

  /**
   * Whether an entry can take a task of this kind as a new task. An extension here continues
   * Segue's own copy of the source, so only entries that extend any video qualify (a native
   * extension is pinned to its maker by the task service instead).
   */
  canRun(name: string, work: { readonly operation: Operation; readonly model: string; readonly mode: GenerationMode }): boolean {
    const provider = this.get(name);
    if (work.operation === 'extend') return supports(provider, work.model, 'extend') && provider.capabilities(work.model)?.extendsFrom === 'any_video';
    return supports(provider, work.model, work.operation, work.operation === 'generate' ? work.mode : undefined);
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
