import { z } from 'zod';
import type { GenerationMode, Operation } from '../domain/task.js';
import type { ModelCapabilities } from '../ports/video-provider.js';

/** How an entry's providers file names a Veo model: an id, or the id with what it can do. */
export type ConfiguredVeoModel = string | { readonly id: string; readonly extend?: boolean | undefined; readonly referenceImages?: boolean | undefined };

/**
 * The schema of a providers-file model: the upstream's id (as `id` checks it), or the id with what
 * it can do (`extend`, `referenceImages`; see `veoModelSpec` for the defaults) and what else the
 * kind records per model (`extra`).
 */
export function veoModelSchema<Extra extends z.ZodRawShape = {}>(id: z.ZodType<string>, extra?: Extra) {
  return z.union([id, z.object({ id, extend: z.boolean().optional(), referenceImages: z.boolean().optional(), ...(extra ?? ({} as Extra)) })]);
}

/** What one Veo model id does on an upstream. */
export interface VeoModelSpec {
  readonly id: string;
  readonly extend: boolean;
  readonly referenceImages: boolean;
}

/**
 * Veo 3.1's rules by model id, where the file does not say otherwise (every upstream that serves
 * Google's models follows them): an id containing "lite" cannot extend, and only the full model
 * (not "fast", not "lite") takes reference images.
 */
export function veoModelSpec(configured: ConfiguredVeoModel | undefined): VeoModelSpec | undefined {
  if (configured === undefined) return undefined;
  const id = typeof configured === 'string' ? configured : configured.id;
  const options = typeof configured === 'object' ? configured : undefined;
  return {
    id,
    extend: options?.extend ?? !/lite/i.test(id),
    referenceImages: options?.referenceImages ?? !/fast|lite/i.test(id),
  };
}

/** A Veo model's capabilities on an entry: whether the entry extends natively, and from what. */
export function veoCapabilities(spec: VeoModelSpec, options: { readonly nativeExtension: boolean; readonly extendsFrom: ModelCapabilities['extendsFrom'] }): ModelCapabilities {
  const operations: Operation[] = options.nativeExtension && spec.extend ? ['generate', 'extend'] : ['generate'];
  const modes: GenerationMode[] = spec.referenceImages ? ['text', 'first_and_last_frames', 'reference_images'] : ['text', 'first_and_last_frames'];
  return { operations, modes, extendsFrom: options.extendsFrom };
}
