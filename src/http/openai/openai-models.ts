import { ValidationError } from '../../domain/errors.js';
import { universalModels } from '../universal/universal-requests.js';

/** A model name of a request, in the engine's terms. */
export interface ServedModel {
  /** The public model the task runs as (prices and provider capabilities key on it). */
  readonly publicModel: string;
  /** The name as the client gave it, when routes may name it (universal ids, operator aliases). */
  readonly modelId: string | undefined;
}

/** Segue's own public models: each is served, whatever the routes say (`*` takes the rest). */
const publicModels = ['veo3', 'veo3_fast', 'veo3_lite'] as const;

/** What a request without `model` runs as (Segue's default tier, as the CLI's). */
export const DEFAULT_MODEL = 'veo3_fast';

/** `created` of every model: Veo 3.1's release (2025-10-15). */
const RELEASED_AT = 1_760_486_400;

/**
 * The models this Segue serves, as the routes of its providers file decide: the public models,
 * the universal dialect's ids, and every other model the routes name — an operator's alias such
 * as `sora-2`, which runs as Veo 3.1 (`veo3`) on the entries its route lists.
 */
export class OpenAiModels {
  private readonly aliases: readonly string[];

  constructor(routedModels: readonly string[]) {
    const known = new Set<string>([...publicModels, ...Object.keys(universalModels), '*']);
    this.aliases = routedModels.filter((name) => !known.has(name));
  }

  /** The model a request names, or a 400 naming it when it is not served here. */
  resolve(name: string | undefined): ServedModel {
    const model = name ?? DEFAULT_MODEL;
    if ((publicModels as readonly string[]).includes(model)) return { publicModel: model, modelId: undefined };
    const universal = universalModels[model as keyof typeof universalModels];
    if (universal) return { publicModel: universal.publicModel, modelId: model };
    if (this.aliases.includes(model)) return { publicModel: 'veo3', modelId: model };
    const shown = model.length > 100 ? `${model.slice(0, 100)}…` : model;
    throw new ValidationError(`The model '${shown}' is not served here. GET /v1/models lists the models this server serves.`, 'model');
  }

  /** Whether a name is one of the served models (presenters show such a name as the client gave it). */
  serves(name: string): boolean {
    return (publicModels as readonly string[]).includes(name) || name in universalModels || this.aliases.includes(name);
  }

  /** `GET /v1/models`. */
  list() {
    const owned = (id: string) => ({ id, object: 'model' as const, created: RELEASED_AT, owned_by: this.aliases.includes(id) ? 'segue' : 'google' });
    return { object: 'list' as const, data: [...publicModels, ...Object.keys(universalModels), ...this.aliases].map(owned) };
  }
}
