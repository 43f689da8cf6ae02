import { AddressRefusedError } from '../../net/address-guard.js';
import type { SafeHttpClient } from '../../net/safe-http.js';
import type { VeoPresenter } from '../../http/veo/veo-presenter.js';
import type { Storage } from '../../storage/storage.js';
import type { JobContext } from '../worker.js';

export interface CallbackDependencies {
  readonly storage: Storage;
  readonly http: SafeHttpClient;
  readonly presenter: VeoPresenter;
  readonly timeoutMs: number;
}

/** A refusal that retrying cannot fix (the address is not allowed). */
class PermanentCallbackError extends Error {
  readonly isRetryable = false;
}

/**
 * `callback.deliver`: POSTs the task's terminal body to its callBackUrl. Any 2xx within the
 * timeout is success; anything else is retried by the queue with backoff. The body is built
 * from the stored task at send time, so a redelivery carries the same content.
 */
export async function deliverCallback(deps: CallbackDependencies, { taskId }: { taskId: string }, context: JobContext): Promise<void> {
  const task = await deps.storage.tasks.findById(taskId);
  if (!task?.callbackUrl) return;
  const body = JSON.stringify(deps.presenter.callbackBody(task));
  let statusCode: number;
  try {
    ({ statusCode } = await deps.http.postJson(task.callbackUrl, body, {}, { timeoutMs: deps.timeoutMs }));
  } catch (error) {
    if (error instanceof AddressRefusedError) throw new PermanentCallbackError(`callback refused: ${error.message}`);
    throw error;
  }
  if (statusCode < 200 || statusCode >= 300) throw new Error(`callback answered HTTP ${statusCode}`);
  context.logger.info({ taskId, statusCode }, 'callback delivered');
}
