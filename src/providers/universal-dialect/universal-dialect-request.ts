import { EXTENSION_SECONDS, GENERATION_SECONDS, type Task } from '../../domain/task.js';
import type { UniversalCreateBody } from './universal-dialect-api-types.js';
import type { OperationModels } from './universal-dialect-entry.js';

/** What a task becomes on the service: the body, or why this entry's model map cannot make it. */
export type UniversalRequest = { readonly body: UniversalCreateBody } | { readonly refusal: string };

/** The fields every model takes; no watermark (Segue applies its own when it takes the result in). */
function common(task: Task): Pick<UniversalCreateBody, 'prompt' | 'generate_audio' | 'seed' | 'negative_prompt'> {
  const { parameters } = task;
  return {
    prompt: parameters.prompt,
    generate_audio: parameters.generateAudio,
    seed: task.seed,
    ...(parameters.negativePrompt ? { negative_prompt: parameters.negativePrompt } : {}),
  };
}

/** A generation: the model id of its kind (text, one image, first and last frames, references). */
export function universalGenerateRequest(task: Task, models: OperationModels): UniversalRequest {
  const { parameters } = task;
  const aspect = parameters.aspectRatio === 'auto' ? {} : { aspect_ratio: parameters.aspectRatio };
  const shape = { duration: parameters.durationSeconds, resolution: parameters.resolution };
  const [first, last] = parameters.imageUrls;
  if (parameters.mode === 'reference_images') {
    if (!models.reference) return { refusal: 'no reference-to-video model is configured' };
    return { body: { model: models.reference, ...common(task), image_urls: parameters.imageUrls, duration: GENERATION_SECONDS, resolution: parameters.resolution } };
  }
  if (first && last) {
    if (!models.firstLast) return { refusal: 'no first-and-last-frame model is configured' };
    return { body: { model: models.firstLast, ...common(task), image_url: first, last_image_url: last, ...aspect, ...shape } };
  }
  if (first) {
    if (!models.image) return { refusal: 'no image-to-video model is configured' };
    return { body: { model: models.image, ...common(task), image_url: first, ...aspect, ...shape } };
  }
  if (!models.text) return { refusal: 'no text-to-video model is configured' };
  return { body: { model: models.text, ...common(task), ...aspect, ...shape } };
}

/** An extension from a link: the service fetches the video (Segue's signed copy) and returns source + 7 s. */
export function universalExtendRequest(task: Task, models: OperationModels, videoUrl: string): UniversalRequest {
  if (!models.extend) return { refusal: 'no extension model is configured' };
  return { body: { model: models.extend, ...common(task), video_url: videoUrl, duration: EXTENSION_SECONDS, resolution: '720p' } };
}

/** A bridge: image-to-video from the source's last frame (a link to it), 8 s at the source's orientation. */
export function universalBridgeRequest(task: Task, models: OperationModels, frameLink: string, aspectRatio: '16:9' | '9:16'): UniversalRequest {
  if (!models.image) return { refusal: 'no image-to-video model is configured' };
  return { body: { model: models.image, ...common(task), image_url: frameLink, aspect_ratio: aspectRatio, duration: GENERATION_SECONDS, resolution: '720p' } };
}
