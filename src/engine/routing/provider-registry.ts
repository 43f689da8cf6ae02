import type { ExtendMethod } from '../../domain/task.js';
import type { ProviderGateStore } from '../../ports/provider-gate-store.js';
import type { ProviderWebhook, VideoProvider } from '../../ports/video-provider.js';
import { type GateLimits, type GateReport, ProviderGate } from './provider-gate.js';

/** One configured entry: its provider and the limits it runs under. */
export interface ProviderEntryPlacement {
  readonly provider: VideoProvider;
  readonly limits: GateLimits;
  /** The entry's verifier of upstream webhooks, when it takes them. */
  readonly webhook?: ProviderWebhook;
  /** The extension methods this entry may run; all it can when absent. */
  readonly extendMethods?: readonly ExtendMethod[] | undefined;
  /** Upstream model ids the upstream no longer serves (a model mapped to one is refused before payment). */
  readonly retiredModelIds?: readonly string[] | undefined;
}

/** Model id (public model, dialect id, or `*`) → ordered chain of entry names. */
export type RouteTable = Readonly<Record<string, readonly string[]>>;

interface RegisteredEntry {
  readonly provider: VideoProvider;
  readonly gate: ProviderGate;
  readonly webhook: ProviderWebhook | undefined;
  readonly extendMethods: readonly ExtendMethod[] | undefined;
  readonly retiredModelIds: readonly string[];
}

/**
 * The provider entries this process knows (each an account on an upstream, or the local engine)
 * and the routes that send each public model to an ordered chain of them.
 */
export class ProviderRegistry {
  private readonly entries = new Map<string, RegisteredEntry>();
  private readonly routes: Readonly<Record<string, readonly string[]>>;

  constructor(
    entries: Readonly<Record<string, ProviderEntryPlacement>>,
    routes: RouteTable,
    /** Where each entry's gate lives: in the database, shared by every process. */
    private readonly gates: ProviderGateStore,
    now: () => number = Date.now,
  ) {
    for (const [name, { provider, limits, webhook, extendMethods, retiredModelIds }] of Object.entries(entries)) {
      this.entries.set(name, { provider, gate: new ProviderGate(name, limits, gates, now), webhook, extendMethods, retiredModelIds: retiredModelIds ?? [] });
    }
    this.routes = routes;
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

  /** Every model id the routes name, `*` included (the dialects list what they serve from it). */
  routedModels(): string[] {
    return Object.keys(this.routes);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  get(name: string): VideoProvider {
    return this.entry(name).provider;
  }

  /** The webhook verifier of an entry, if it takes webhooks (undefined for unknown names too). */
  webhook(name: string): ProviderWebhook | undefined {
    return this.entries.get(name)?.webhook;
  }

  /** Whether the entry may run an extension by this method (its configuration's restriction). */
  allowsMethod(name: string, method: ExtendMethod): boolean {
    const allowed = this.entry(name).extendMethods;
    return !allowed || allowed.includes(method);
  }

  /** The upstream model id `model` maps to on this entry when the upstream has retired it, else undefined. */
  retiredModelId(name: string, model: string): string | undefined {
    const { provider, retiredModelIds } = this.entry(name);
    const upstreamModel = provider.pinning?.(model)?.upstreamModel;
    return upstreamModel !== undefined && retiredModelIds.includes(upstreamModel) ? upstreamModel : undefined;
  }

  gate(name: string): ProviderGate {
    return this.entry(name).gate;
  }

  /** Each entry's breaker and limits as the database holds them (every process's failures), for `/readyz`. */
  async report(): Promise<Record<string, GateReport>> {
    const states = await this.gates.all();
    return Object.fromEntries([...this.entries].map(([name, { gate }]) => [name, gate.reportOf(states.get(name))]));
  }

  private entry(name: string): RegisteredEntry {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`unknown provider ${name}`);
    return entry;
  }
}
