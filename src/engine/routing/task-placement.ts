import { InvalidStateError, ValidationError } from '../../domain/errors.js';
import type { GenerationMode, Operation, Task } from '../../domain/task.js';
import { supports } from '../../ports/video-provider.js';
import type { ProviderRegistry } from './provider-registry.js';

/** Where a task runs: its first entry, and the chain it may fall back along. */
export interface Placement {
  readonly provider: string;
  readonly providerRoute: readonly string[];
}

/** What a task asks of an entry. */
export interface Work {
  readonly operation: Operation;
  readonly model: string;
  readonly mode: GenerationMode;
}

/**
 * Every placement rule in one place: which entry a new task starts on and why, which entries it
 * may fall back to, where an extension or an upgrade runs. Decided before anything is paid, so a
 * task that cannot run anywhere is refused at submit.
 */
export class TaskPlacement {
  constructor(
    private readonly providers: ProviderRegistry,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new generation (or an extension of a video Segue did not make) on its model's route. */
  placeNew(work: Work, modelId: string | undefined): Placement {
    const route = this.routeFor(work.model, modelId);
    const placement = this.firstRunnable(route, work);
    if (placement) return placement;
    throw new ValidationError(
      work.operation === 'extend' ? `model ${work.model} cannot extend videos here` : `model ${work.model} cannot make this kind of video here`,
      'model',
    );
  }

  /**
   * An extension of a task: natively on the entry (account) that made the source while that entry
   * still holds it, pinned there and nowhere else; otherwise on the model's route like a new task,
   * with Segue's copy of the source as input.
   */
  placeExtension(source: Task, model: string, modelId: string | undefined): Placement {
    const maker = this.providers.names().includes(source.provider) ? this.providers.get(source.provider) : undefined;
    let refusal: string | undefined;
    if (maker && maker.capabilities(model)?.extendsFrom === 'own_output') {
      refusal = maker.nativeExtensionRefusal?.(source, model, this.now());
      if (refusal === undefined) return { provider: maker.name, providerRoute: [maker.name] };
    }
    const placement = this.firstRunnable(this.routeFor(model, modelId), { operation: 'extend', model, mode: 'text' });
    if (placement) return placement;
    throw new InvalidStateError(
      refusal
        ? `This video cannot be extended: ${refusal}, and no configured provider extends other videos.`
        : `Videos made with model ${model} cannot be extended.`,
      'cannot_extend',
    );
  }

  /** An upgrade works on Segue's own copy: on the source's entry if it can, else on the first that can. */
  placeUpgrade(source: Task, operation: 'upgrade_1080p' | 'upgrade_4k'): Placement | undefined {
    const names = this.providers.names();
    const upgrader = [source.provider, ...names].find((name) => names.includes(name) && supports(this.providers.get(name), source.parameters.model, operation));
    return upgrader ? { provider: upgrader, providerRoute: [upgrader] } : undefined;
  }

  /** The next entry of a task's route that can take it, when its entry could not (fallback). */
  nextOnRoute(task: Task): string | undefined {
    const work = { operation: task.operation, model: task.parameters.model, mode: task.parameters.mode };
    return task.providerRoute.slice(task.providerRoute.indexOf(task.provider) + 1).find((name) => this.canRun(name, work));
  }

  /** The configured chain for a model: by the client's own model id if routed, else the public one. */
  private routeFor(model: string, modelId: string | undefined): readonly string[] {
    return this.providers.routeFor(modelId ? [modelId, model] : [model]);
  }

  /** The whole chain, starting on its first entry that can run the work. */
  private firstRunnable(route: readonly string[], work: Work): Placement | undefined {
    const provider = route.find((name) => this.canRun(name, work));
    return provider ? { provider, providerRoute: route } : undefined;
  }

  /**
   * Whether an entry can take the work as a new task. An extension here continues Segue's own
   * copy of the source, so only entries that extend any video qualify (a native extension is
   * pinned to its maker by `placeExtension`).
   */
  private canRun(name: string, work: Work): boolean {
    const provider = this.providers.get(name);
    if (work.operation === 'extend') return supports(provider, work.model, 'extend') && provider.capabilities(work.model)?.extendsFrom === 'any_video';
    return supports(provider, work.model, work.operation, work.operation === 'generate' ? work.mode : undefined);
  }
}
