import type { ResultLinks } from '../../blobs/result-links.js';
import type { FailureReason, Task } from '../../domain/task.js';

/** The universal dialect's statuses: clients poll while queued or generating, and stop on anything else. */
export type UniversalStatus = 'queued' | 'generating' | 'completed' | 'error';

const errorNames: Record<FailureReason, string> = {
  content_policy: 'ContentPolicyViolation',
  input_unusable: 'InvalidInput',
  generation_failed: 'GenerationFailed',
  timeout: 'GenerationTimeout',
  internal: 'InternalError',
};

/** Shapes tasks as `POST/GET /v2/video/generations` answer them. */
export class UniversalPresenter {
  constructor(private readonly links: ResultLinks) {}

  status(task: Task): UniversalStatus {
    switch (task.state) {
      case 'queued':
        return 'queued';
      case 'running':
      case 'reconciling':
        return 'generating';
      case 'succeeded':
        return 'completed';
      case 'failed':
        return 'error';
    }
  }

  /** `credits_used`: the task's price (held at submit, captured on success, released on failure). */
  created(task: Task) {
    return { id: task.id, status: 'queued' as const, meta: { usage: { credits_used: task.price } } };
  }


  /** `video.url` is the only `url` key: the official SDK takes the first one it finds. */
  async fetched(task: Task) {
    const status = this.status(task);
    return {
      id: task.id,
      status,
      video: status === 'completed' && task.result ? { url: await this.links.urlFor(task.result.videoKey) } : null,
      error:
        status === 'error' && task.failure
          ? { name: errorNames[task.failure.reason], message: task.failure.message }
          : null,
      meta: {
        usage: { credits_used: status === 'error' ? 0 : task.price },
        ...(task.extension ? { extension: { method: task.extension.method, reason: task.extension.reason } } : {}),
        ...(task.pinning ? { pinned_to: task.pinning } : {}),
      },
    };
  }
}
