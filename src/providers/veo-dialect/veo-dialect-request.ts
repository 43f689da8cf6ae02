import type { Task } from '../../domain/task.js';
import type { VeoExtendBody, VeoGenerateBody } from './veo-dialect-api-types.js';

const generationTypes = {
  text: 'TEXT_2_VIDEO',
  first_and_last_frames: 'FIRST_AND_LAST_FRAMES_2_VIDEO',
  reference_images: 'REFERENCE_2_VIDEO',
} as const;

/** The dialect takes seeds of 10000–99999 only; any other seed is left to the service. */
function seeds(seed: number): { seeds?: number } {
  return seed >= 10_000 && seed <= 99_999 ? { seeds: seed } : {};
}

/**
 * A generation in the dialect's terms. Image links go as given (the service fetches them, as
 * Segue does); no watermark (Segue applies its own when it takes the result in).
 */
export function veoGenerateBody(task: Task, upstreamModel: string, callBackUrl: string | null): VeoGenerateBody {
  const { parameters } = task;
  return {
    prompt: parameters.prompt,
    model: upstreamModel,
    generationType: parameters.imageUrls.length > 0 ? generationTypes[parameters.mode] : 'TEXT_2_VIDEO',
    ...(parameters.imageUrls.length > 0 ? { imageUrls: parameters.imageUrls } : {}),
    aspectRatio: parameters.aspectRatio === 'auto' ? 'Auto' : parameters.aspectRatio,
    ...seeds(task.seed),
    ...(callBackUrl ? { callBackUrl } : {}),
    enableTranslation: true,
  };
}

/** A bridge: image-to-video from the source's last frame (a link to Segue's copy of it), at the source's orientation. */
export function veoBridgeBody(task: Task, upstreamModel: string, frameLink: string, aspectRatio: '16:9' | '9:16', callBackUrl: string | null): VeoGenerateBody {
  return {
    prompt: task.parameters.prompt,
    model: upstreamModel,
    generationType: 'FIRST_AND_LAST_FRAMES_2_VIDEO',
    imageUrls: [frameLink],
    aspectRatio,
    ...seeds(task.seed),
    ...(callBackUrl ? { callBackUrl } : {}),
    enableTranslation: true,
  };
}

/** A native extension of a video the service made, by its own task id; the tier follows the model id. */
export function veoExtendBody(task: Task, upstreamTaskId: string, upstreamModel: string, callBackUrl: string | null): VeoExtendBody {
  return {
    taskId: upstreamTaskId,
    prompt: task.parameters.prompt,
    model: /fast|lite/i.test(upstreamModel) ? 'fast' : 'quality',
    ...seeds(task.seed),
    ...(callBackUrl ? { callBackUrl } : {}),
  };
}
