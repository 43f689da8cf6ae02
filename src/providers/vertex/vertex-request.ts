import { EXTENSION_SECONDS, GENERATION_SECONDS, type Task } from '../../domain/task.js';
import type { VertexCreateBody, VertexMedia } from './vertex-api-types.js';

export interface VertexRequestInputs {
  /** The pictures of the task's `imageUrls` (or a bridge's last frame), inlined. */
  readonly images: readonly VertexMedia[];
  /** For a native extension: the source video, as bytes or a `gs://` object. */
  readonly sourceVideo: VertexMedia | null;
  /** Where Vertex writes the results (`gs://bucket/prefix`), or null for inline bytes. */
  readonly storageUri: string | null;
  /** The resolution an extension keeps (its source's). */
  readonly extensionResolution?: '720p' | '1080p';
}

/** Vertex's seed is an unsigned 32-bit integer. */
const MAX_SEED = 0xffff_ffff;

/**
 * Segue's task in Vertex terms (upstream-providers.md §2.3, §2.5). Unlike the Gemini API, Vertex
 * takes `generateAudio`, `seed`, `storageUri` and video bytes; an extension adds 7 s; people are
 * `allow_all` for text and extension, `allow_adult` when an image is given.
 */
export function vertexCreateBody(task: Task, inputs: VertexRequestInputs): VertexCreateBody {
  const { parameters } = task;
  const extending = task.operation === 'extend';
  const [first, last] = inputs.images;
  const references = parameters.mode === 'reference_images';
  const instance = {
    prompt: parameters.prompt,
    ...(extending && inputs.sourceVideo ? { video: inputs.sourceVideo } : {}),
    ...(!extending && !references && first ? { image: first } : {}),
    ...(!extending && !references && last ? { lastFrame: last } : {}),
    ...(!extending && references ? { referenceImages: inputs.images.map((image) => ({ image, referenceType: 'asset' as const })) } : {}),
  };
  const mustBeEight = references || Boolean(last);
  return {
    instances: [instance],
    parameters: {
      sampleCount: 1,
      durationSeconds: extending ? EXTENSION_SECONDS : mustBeEight ? GENERATION_SECONDS : parameters.durationSeconds,
      ...(parameters.aspectRatio !== 'auto' ? { aspectRatio: parameters.aspectRatio } : {}),
      resolution: extending ? (inputs.extensionResolution ?? '720p') : parameters.resolution,
      generateAudio: parameters.generateAudio,
      personGeneration: !extending && inputs.images.length > 0 ? 'allow_adult' : 'allow_all',
      ...(task.seed >= 0 && task.seed <= MAX_SEED ? { seed: task.seed } : {}),
      ...(parameters.negativePrompt ? { negativePrompt: parameters.negativePrompt } : {}),
      ...(inputs.storageUri ? { storageUri: inputs.storageUri } : {}),
    },
  };
}
