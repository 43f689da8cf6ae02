import { ranOnFallback, type Task } from '../../domain/task.js';
import type { ResultLinks } from '../../blobs/result-links.js';

export interface VeoPresenterOptions {
  readonly timeFormat: 'datetime' | 'epoch_ms';
  /** What `resultUrls` holds for an extension: the new segment (default) or the whole video. */
  readonly extendResultUrls: 'segment' | 'full';
  readonly callbackUrlsAsString: boolean;
  readonly fourKCallbackShape: 'page' | 'openapi';
}

export const FOUR_K_UNAVAILABLE = 'The 4K version of this video is unavailable. Please try a different video.';

/** The Veo dialect's failure codes and documented messages, by failure reason. */
const failureShapes = {
  content_policy: { code: 400, message: 'Your prompt was flagged by Website as violating content policies.' },
  input_unusable: { code: 400, message: null },
  generation_failed: { code: 501, message: null },
  timeout: { code: 500, message: 'Internal Error - Timeout' },
  internal: { code: 500, message: 'Internal Error, Please try again later.' },
} as const;

const imageFetchMessage = 'Failed to fetch the image. Kindly verify any access limits set by you or your service provider.';

/** Shapes tasks as the Veo dialect shows them: record-info data and callback bodies. */
export class VeoPresenter {
  constructor(
    private readonly links: ResultLinks,
    private readonly options: VeoPresenterOptions,
  ) {}

  /** 0 while queued or running, 1 on success, 2 if it failed before a provider took it, 3 if generation failed. */
  successFlag(task: Task): 0 | 1 | 2 | 3 {
    if (task.state === 'succeeded') return 1;
    if (task.state === 'failed') return task.failure?.stage === 'submission' ? 2 : 3;
    return 0;
  }

  failure(task: Task): { code: number; message: string } | null {
    if (task.state !== 'failed' || !task.failure) return null;
    const shape = failureShapes[task.failure.reason];
    if (shape.message) return { code: shape.code, message: shape.message };
    if (task.failure.reason === 'input_unusable' && task.parameters.imageUrls.length > 0) {
      return { code: shape.code, message: `${imageFetchMessage} (${task.failure.message})` };
    }
    return { code: shape.code, message: task.failure.message };
  }

  /** The `data` of `GET /api/v1/veo/record-info`. 4K tasks carry `mediaIds` and no `fallbackFlag`. */
  async recordInfo(task: Task) {
    const failure = this.failure(task);
    const response = await this.response(task);
    const common = {
      taskId: task.id,
      paramJson: JSON.stringify(task.requestEcho),
      completeTime: task.finishedAt === null ? null : this.time(task.finishedAt),
      createTime: this.time(task.createdAt),
      response,
      successFlag: this.successFlag(task),
      errorCode: failure?.code ?? null,
      errorMessage: failure ? failure.message : task.state === 'succeeded' ? '' : null,
    };
    if (task.operation === 'upgrade_4k') return { ...common, response: response && { ...response, mediaIds: [task.id] } };
    const extension = task.extension ? { extendMethod: task.extension.method, extendReason: task.extension.reason } : {};
    const pinned = task.pinning ? { pinnedTo: task.pinning } : {};
    // Compatibility: the kie quickstart reads `data.resultUrls` at the top, as a JSON-array string.
    const topLevelUrls = response ? { resultUrls: JSON.stringify(response.resultUrls) } : {};
    return { ...common, fallbackFlag: usedFallback(task), ...topLevelUrls, ...extension, ...pinned };
  }

  /** The body POSTed to `callBackUrl` when the task ends. */
  async callbackBody(task: Task) {
    if (task.operation === 'upgrade_4k') return this.fourKCallbackBody(task);
    const failure = this.failure(task);
    if (failure || task.state !== 'succeeded') {
      return {
        code: failure?.code ?? 500,
        msg: failure?.message ?? 'Internal Error, Please try again later.',
        data: { taskId: task.id, fallbackFlag: usedFallback(task) },
      };
    }
    const response = (await this.response(task))!;
    const encode = (urls: string[]) => (this.options.callbackUrlsAsString ? JSON.stringify(urls) : urls);
    return {
      code: 200,
      msg: task.operation === 'extend' ? 'Veo3.1 video extension successful.' : 'Veo3.1 video generated successfully.',
      data: {
        taskId: task.id,
        info: {
          resultUrls: encode(response.resultUrls),
          originUrls: encode(response.originUrls),
          resolution: response.resolution,
          ...(response.fullResultUrls ? { fullResultUrls: encode(response.fullResultUrls) } : {}),
        },
        promptJson: task.requestEcho,
        fallbackFlag: usedFallback(task),
      },
    };
  }

  /** The 4K callback, in the shape SEGUE_4K_CALLBACK_SHAPE picks (the two documented ones disagree). */
  private async fourKCallbackBody(task: Task) {
    const files = await this.fourKFiles(task);
    if (!files) return { code: 500, msg: FOUR_K_UNAVAILABLE, data: { taskId: task.id } };
    const { resultUrls, imageUrls } = files;
    const msg = '4K Video generated successfully.';
    if (this.options.fourKCallbackShape === 'openapi') {
      return { code: 200, msg, data: { task_id: task.id, result_urls: resultUrls, media_ids: [task.id], image_urls: imageUrls } };
    }
    return { code: 200, msg, data: { taskId: task.id, info: { resultUrls, imageUrls } } };
  }

  /** For a 4K upgrade's POST answers: the finished files, or null while it runs. */
  async fourKFiles(task: Task): Promise<{ resultUrls: string[]; imageUrls: string[] } | null> {
    if (task.state !== 'succeeded' || !task.result) return null;
    return { resultUrls: [await this.links.urlFor(task.result.videoKey)], imageUrls: [await this.links.urlFor(task.result.posterKey)] };
  }

  /** The upgraded video's link (1080p route). */
  async videoUrl(task: Task): Promise<string | null> {
    return task.state === 'succeeded' && task.result ? this.links.urlFor(task.result.videoKey) : null;
  }

  private async response(task: Task) {
    const result = task.result;
    if (task.state !== 'succeeded' || !result) return null;
    const full = await this.links.urlFor(result.videoKey);
    const isExtension = task.operation === 'extend' && result.segmentKey !== null;
    const resultUrl = isExtension && this.options.extendResultUrls === 'segment' ? await this.links.urlFor(result.segmentKey!) : full;
    return {
      taskId: task.id,
      resultUrls: [resultUrl],
      originUrls: result.width < result.height ? [full] : [],
      resolution: `${Math.min(result.width, result.height)}p`,
      ...(isExtension ? { fullResultUrls: [full] } : {}),
      posterUrl: await this.links.urlFor(result.posterKey),
      durationSeconds: result.durationSeconds,
    };
  }

  private time(epochMs: number): string | number {
    if (this.options.timeFormat === 'epoch_ms') return epochMs;
    return new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ');
  }
}

/** The Veo dialect's `fallbackFlag`. */
const usedFallback = ranOnFallback;
