import { InvalidStateError, ValidationError } from '../../domain/errors.js';
import type { ExtensionPlan, GenerationMode, Operation, Task } from '../../domain/task.js';
import { supports } from '../../ports/video-provider.js';
import type { ProviderRegistry } from './provider-registry.js';

/** Where a task runs: its first entry, the chain it may fall back along, and (for an extension) how. */
export interface Placement {
  readonly provider: string;
  readonly providerRoute: readonly string[];
  readonly extension: ExtensionPlan | null;
}

/** What a task asks of an entry. */
export interface Work {
  readonly operation: Operation;
  readonly model: string;
  readonly mode: GenerationMode;
}

/**
 * Every placement rule in one place: which entry a new task starts on and why, which entries it
 * may fall back to, how an extension continues its source, where an upgrade runs. Decided before
 * anything is paid, so a task that cannot run anywhere is refused at submit.
 *
 * An extension prefers, in order: native on the entry that made the source (pinned there);
 * then, along its model's route, the first entry that extends natively from Segue's copy or by
 * bridge (last frame → image-to-video); the local engine only where the route names it.
 */
export class TaskPlacement {
  constructor(
    private readonly providers: ProviderRegistry,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new generation on its model's route. */
  placeGeneration(work: Work, modelId: string | undefined): Placement {
    const route = this.routeFor(work.model, modelId);
    const provider = route.find((name) => this.serves(name, work.model) && supports(this.providers.get(name), work.model, work.operation, work.mode));
    if (provider) return { provider, providerRoute: route, extension: null };
    throw new ValidationError(this.retiredRefusal(route, work.model) ?? `model ${work.model} cannot make this kind of video here`, 'model');
  }

  /**
   * An extension of `source` (a task of Segue's, or null for a video Segue did not make). The
   * refusal says why no entry on the route can continue it.
   */
  placeExtension(source: Task | null, model: string, modelId: string | undefined): Placement {
    const maker = source && this.providers.names().includes(source.provider) ? source.provider : undefined;
    const makerPlan = maker ? this.ownNative(maker, source!, model) : undefined;
    if (maker && makerPlan && !('refusal' in makerPlan)) return { provider: maker, providerRoute: [maker], extension: makerPlan };
    const notOwn = makerPlan && 'refusal' in makerPlan ? `not natively on ${maker} (${makerPlan.refusal})` : undefined;
    const route = this.routeFor(model, modelId);
    const plans = route.map((name) => ({ name, plan: this.lesserIf(Boolean(notOwn), this.extensionOn(name, null, model, notOwn)) }));
    const chosen = plans.find(({ plan }) => plan && plan.method !== 'local') ?? plans.find(({ plan }) => plan?.method === 'local');
    if (chosen?.plan) return { provider: chosen.name, providerRoute: route, extension: chosen.plan };
    const retired = this.retiredRefusal(maker ? [maker, ...route] : route, model);
    if (retired) throw new ValidationError(retired, 'model');
    throw new InvalidStateError(
      source === null
        ? `model ${model} cannot extend videos here: no entry on its route extends a video from another provider`
        : notOwn
          ? `This video cannot be extended: ${makerPlan && 'refusal' in makerPlan ? makerPlan.refusal : ''}, and no entry on this route extends a video from another provider.`
          : `Videos made with model ${model} cannot be extended.`,
      'cannot_extend',
    );
  }

  /**
   * How an extension continues its source on one entry, or undefined when that entry cannot:
   * native (its own output, or any video from a link), bridge (a generative entry with
   * image-to-video), local (the embedded engine) — as far as the entry's configuration allows.
   */
  extensionOn(name: string, source: Task | null, model: string, context?: string): ExtensionPlan | undefined {
    const provider = this.providers.get(name);
    if (!this.serves(name, model)) return undefined;
    const capabilities = provider.capabilities(model);
    const allowed = (method: ExtensionPlan['method']) => this.providers.allowsMethod(name, method);
    let why = (text: string) => (context ? `${context}; ${text}` : text);
    if (source && source.provider === name) {
      const own = this.ownNative(name, source, model);
      if (own && !('refusal' in own)) return own;
    }
    if (capabilities?.extendsFrom === 'any_video' && capabilities.operations.includes('extend')) {
      if (!provider.generative) return allowed('local') ? { method: 'local', reason: why('the embedded engine continues the video from its own material') } : undefined;
      const linkRefusal = provider.linkExtensionRefusal?.();
      if (allowed('native') && !linkRefusal) return { method: 'native', reason: why(`${name} extends any video, from Segue's copy`) };
      if (linkRefusal) {
        const before = why;
        why = (text: string) => before(`not natively on ${name} (${linkRefusal}); ${text}`);
      }
    }
    if (provider.generative && supports(provider, model, 'generate', 'first_and_last_frames') && allowed('bridge')) {
      return { method: 'bridge', reason: why(`${name} continues the video's last frame with image-to-video`) };
    }
    return undefined;
  }

  /**
   * An upgrade: on the source's entry if it can (a Veo service upgrades the video it made), else
   * on the first entry that can upgrade Segue's copy.
   */
  placeUpgrade(source: Task, operation: 'upgrade_1080p' | 'upgrade_4k'): Placement | undefined {
    const names = this.providers.names();
    const can = (name: string) => {
      const provider = this.providers.get(name);
      return supports(provider, source.parameters.model, operation) && provider.upgradeRefusal?.(source, operation, this.now()) === undefined;
    };
    const upgrader = [source.provider, ...names].find((name) => names.includes(name) && can(name));
    return upgrader ? { provider: upgrader, providerRoute: [upgrader], extension: null } : undefined;
  }

  /** The next entry of a task's route that can take it, when its entry could not (fallback). */
  nextOnRoute(task: Task): string | undefined {
    const rest = task.providerRoute.slice(task.providerRoute.indexOf(task.provider) + 1);
    if (task.operation === 'extend') return rest.find((name) => this.extensionOn(name, null, task.parameters.model) !== undefined);
    return rest.find((name) => this.serves(name, task.parameters.model) && supports(this.providers.get(name), task.parameters.model, task.operation, task.operation === 'generate' ? task.parameters.mode : undefined));
  }

  /** Whether an entry may run a model at all: not when the model maps to an id its upstream retired. */
  private serves(name: string, model: string): boolean {
    return this.providers.retiredModelId(name, model) === undefined;
  }

  /** The refusal of a model that some entry of the route maps to a retired upstream id, if one does. */
  private retiredRefusal(route: readonly string[], model: string): string | undefined {
    for (const name of route) {
      const retired = this.providers.retiredModelId(name, model);
      if (retired) {
        return `Model ${model} runs as ${retired} on ${name}, a model id the upstream has retired; nothing was charged. The operator must map ${model} to a current model id.`;
      }
    }
    return undefined;
  }

  private lesserIf(lesser: boolean, plan: ExtensionPlan | undefined): ExtensionPlan | undefined {
    return plan && lesser ? { ...plan, lesser } : plan;
  }

  /** Native on the entry that made the source, or why not. */
  private ownNative(name: string, source: Task, model: string): ExtensionPlan | { refusal: string } | undefined {
    const provider = this.providers.get(name);
    if (provider.capabilities(model)?.extendsFrom !== 'own_output') return undefined;
    const retired = this.providers.retiredModelId(name, model);
    if (retired) return { refusal: `${model} runs as ${retired} on ${name}, which the upstream has retired` };
    if (!this.providers.allowsMethod(name, 'native')) return { refusal: `${name} does not extend natively here` };
    const refusal = provider.nativeExtensionRefusal?.(source, model, this.now());
    return refusal === undefined ? { method: 'native', reason: `${name} made the video and still holds it` } : { refusal };
  }

  /** The configured chain for a model: by the client's own model id if routed, else the public one. */
  private routeFor(model: string, modelId: string | undefined): readonly string[] {
    return this.providers.routeFor(modelId ? [modelId, model] : [model]);
  }
}
