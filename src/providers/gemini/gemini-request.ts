import { GENERATION_SECONDS, type Task } from '../../domain/task.js';
import type { GeminiCreateBody, GeminiImage } from './gemini-api-types.js';

export interface GeminiRequestInputs {
  /** The pictures of the task's `imageUrls`, fetched and inlined (Gemini takes no image URLs). */
  readonly images: readonly GeminiImage[];
  /** For a native extension: the Gemini file uri of the source video. */
  readonly sourceVideoUri: string | null;
  readonly webhook: { readonly url: string } | null;
}

/**
 * Segue's task in Gemini API terms (upstream-providers.md §1.3, §1.7). No `seed` and no
 * `generateAudio`: the Gemini API refuses both (it always makes sound). Interpolation, reference
 * images and extensions must be 8 s long; people are `allow_all` for text and extension,
 * `allow_adult` when an image is given.
 */
export function geminiCreateBody(task: Task, inputs: GeminiRequestInputs): GeminiCreateBody {
  const { parameters } = task;
  const extending = task.operation === 'extend';
  const [first, last] = inputs.images;
  const references = parameters.mode === 'reference_images';
  const instance = {
    prompt: parameters.prompt,
    ...(extending && inputs.sourceVideoUri ? { video: { uri: inputs.sourceVideoUri } } : {}),
    ...(!extending && !references && first ? { image: first } : {}),
    ...(!extending && !references && last ? { lastFrame: last } : {}),
    ...(!extending && references ? { referenceImages: inputs.images.map((image) => ({ image, referenceType: 'asset' as const })) } : {}),
  };
  const mustBeEight = extending || references || Boolean(last);
  return {
    instances: [instance],
    parameters: {
      sampleCount: 1,
      durationSeconds: mustBeEight ? GENERATION_SECONDS : parameters.durationSeconds,
      ...(parameters.aspectRatio !== 'auto' ? { aspectRatio: parameters.aspectRatio } : {}),
      resolution: extending ? '720p' : parameters.resolution,
      personGeneration: !extending && inputs.images.length > 0 ? 'allow_adult' : 'allow_all',
      ...(parameters.negativePrompt ? { negativePrompt: parameters.negativePrompt } : {}),
    },
    ...(inputs.webhook ? { webhookConfig: { uris: [inputs.webhook.url], userMetadata: { segueTaskId: task.id } } } : {}),
  };
}

/** The image type from its first bytes; Gemini wants a mime type beside the bytes. */
export function imageMimeType(bytes: Buffer): string | undefined {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return undefined;
}
