import type { ResultLinks } from '../../blobs/result-links.js';
import { EXTENSION_SECONDS, type FailureReason, type Task } from '../../domain/task.js';
import type { OpenAiModels } from './openai-models.js';

/** The only statuses of a video: clients poll while queued or in progress and stop on the others. */
export type VideoStatus = 'queued' | 'in_progress' | 'completed' | 'failed';

/** The `error.code` of a failed video, by failure reason. */
const errorCodes: Record<FailureReason, string> = {
  content_policy: 'moderation_blocked',
  input_unusable: 'invalid_input',
  generation_failed: 'generation_failed',
  timeout: 'timeout',
  internal: 'internal_error',
};

const seconds = (epochMs: number) => Math.floor(epochMs / 1000);

/** What the create routes record beside the request, for the video object (`requestEcho`). */
export type VideoEcho = {
  readonly model: string;
  readonly prompt: string;
  /** The expected length, when known at submit (for an extension, source and new seconds). */
  readonly seconds?: string;
  readonly remixed_from_video_id?: string;
};

/** Shapes tasks as OpenAI's `video` object, its webhook events and its deletion answer. */
export class OpenAiPresenter {
  constructor(
    private readonly links: ResultLinks,
    private readonly models: OpenAiModels,
  ) {}

  status(task: Task): VideoStatus {
    switch (task.state) {
      case 'queued':
        return 'queued';
      case 'running':
      case 'reconciling':
        return 'in_progress';
      case 'succeeded':
        return 'completed';
      case 'failed':
        return 'failed';
    }
  }

  /**
   * The `video` object of any task of the key, whichever dialect made it. `size` and `seconds`
   * are the result's once it exists; before, what was asked (an extension of an uploaded video
   * counts only its new seconds until its source has been read).
   */
  video(task: Task) {
    const status = this.status(task);
    const echo = task.requestEcho as Partial<VideoEcho>;
    const result = status === 'completed' ? task.result : null;
    return {
      id: task.id,
      object: 'video' as const,
      model: this.modelName(task),
      status,
      progress: status === 'completed' ? 100 : status === 'queued' ? 0 : Math.max(0, Math.min(99, Math.round(task.progress))),
      created_at: seconds(task.createdAt),
      completed_at: task.finishedAt === null ? null : seconds(task.finishedAt),
      expires_at: result ? this.links.expiresAt() : null,
      prompt: task.parameters.prompt,
      size: result ? `${result.width}x${result.height}` : task.parameters.aspectRatio === '9:16' ? '720x1280' : '1280x720',
      seconds: result
        ? String(Math.round(result.durationSeconds))
        : typeof echo.seconds === 'string'
          ? echo.seconds
          : String(task.operation === 'extend' ? EXTENSION_SECONDS : task.parameters.durationSeconds),
      remixed_from_video_id: typeof echo.remixed_from_video_id === 'string' ? echo.remixed_from_video_id : null,
      error: status === 'failed' && task.failure ? { code: errorCodes[task.failure.reason], message: task.failure.message } : null,
    };
  }

  /** The model as the client named it when that is a served model, else the public model it ran as. */
  modelName(task: Task): string {
    const named = task.requestEcho['model'];
    return typeof named === 'string' && this.models.serves(named) ? named : task.parameters.model;
  }

  /** The answer of `DELETE /v1/videos/{video_id}`. */
  deleted(id: string) {
    return { id, object: 'video.deleted' as const, deleted: true };
  }

  /**
   * The webhook body of a finished task: a `video.completed` or `video.failed` event (the same
   * body on every attempt, so that its id names the event).
   */
  async webhookEvent(task: Task) {
    return {
      id: `evt_${task.id}`,
      object: 'event' as const,
      type: task.state === 'succeeded' ? ('video.completed' as const) : ('video.failed' as const),
      created_at: seconds(task.finishedAt ?? task.createdAt),
      data: { id: task.id },
    };
  }
}
