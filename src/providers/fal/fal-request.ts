import { EXTENSION_SECONDS, GENERATION_SECONDS, type Task } from '../../domain/task.js';
import type { FalInput, FalSubpath } from './fal-api-types.js';

/** What a task needs from outside itself to become a fal request. */
export interface FalRequestInputs {
  /** For a native extension: a link fal fetches the source from (Segue's signed copy). */
  readonly videoUrl: string | null;
  /** For a bridge: the source's last frame as a data: URI, and the ratio it was fitted to. */
  readonly bridgeImage: { readonly dataUri: string; readonly aspectRatio: '16:9' | '9:16' } | null;
}

/** One fal submit: the subpath after the endpoint id and the model input. */
export interface FalRequest {
  readonly subpath: FalSubpath;
  readonly input: FalInput;
}

/**
 * Segue's task in fal's Veo 3.1 terms (upstream-providers.md §3.1, §6.8): the subpath from the
 * kind of input, `duration` as a string ("8s"; "7s" for an extension), `generate_audio` and
 * `seed` passed on. Image URLs go as given (fal fetches them itself; data: URIs are accepted).
 * Interpolation, reference images, bridges and extensions are 8 s (extensions add 7 s).
 */
export function falRequest(task: Task, inputs: FalRequestInputs): FalRequest {
  const { parameters } = task;
  const common = {
    prompt: parameters.prompt,
    generate_audio: parameters.generateAudio,
    seed: task.seed,
    ...(parameters.negativePrompt ? { negative_prompt: parameters.negativePrompt } : {}),
  };
  if (task.operation === 'extend' && inputs.bridgeImage) {
    return {
      subpath: '/image-to-video',
      input: { ...common, image_url: inputs.bridgeImage.dataUri, aspect_ratio: inputs.bridgeImage.aspectRatio, duration: seconds(GENERATION_SECONDS), resolution: '720p' },
    };
  }
  if (task.operation === 'extend') {
    if (!inputs.videoUrl) throw new Error('a native extension needs the source video\'s link');
    return { subpath: '/extend-video', input: { ...common, video_url: inputs.videoUrl, aspect_ratio: 'auto', duration: seconds(EXTENSION_SECONDS), resolution: '720p' } };
  }
  const [first, last] = parameters.imageUrls;
  const aspect_ratio = parameters.aspectRatio;
  const resolution = parameters.resolution;
  if (parameters.mode === 'reference_images') {
    return { subpath: '/reference-to-video', input: { ...common, image_urls: parameters.imageUrls, aspect_ratio, duration: seconds(GENERATION_SECONDS), resolution } };
  }
  if (first && last) {
    return { subpath: '/first-last-frame-to-video', input: { ...common, first_frame_url: first, last_frame_url: last, aspect_ratio, duration: seconds(GENERATION_SECONDS), resolution } };
  }
  if (first) {
    return { subpath: '/image-to-video', input: { ...common, image_url: first, aspect_ratio, duration: seconds(parameters.durationSeconds), resolution } };
  }
  return { subpath: '', input: { ...common, aspect_ratio: aspect_ratio === 'auto' ? '16:9' : aspect_ratio, duration: seconds(parameters.durationSeconds), resolution } };
}

/** fal's duration strings. */
function seconds(value: number): FalInput['duration'] {
  if (value === 4 || value === 6 || value === 7 || value === 8) return `${value}s` as FalInput['duration'];
  return '8s';
}

/** How many seconds of video a request makes (what fal bills). */
export function billedSeconds(input: FalInput): number {
  return Number.parseInt(input.duration, 10);
}
