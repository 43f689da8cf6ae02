import type { FastifyInstance } from 'fastify';
import { verifyStandardWebhook } from '../../callbacks/webhook-signatures.js';
import { taskJobKey } from '../../jobs/job-kinds.js';
import type { Storage } from '../../ports/storage.js';

export interface GeminiHookDependencies {
  readonly storage: Storage;
  /** The `whsec_` secrets of the Gemini entries that asked for webhooks. */
  readonly secrets: readonly string[];
}

/** Where Segue asks Gemini to put the task id (`webhookConfig.userMetadata`), wherever it comes back. */
function taskIdOf(payload: unknown): string | undefined {
  const data = (payload as { data?: Record<string, unknown> } | null)?.data;
  const metadata = (data?.['user_metadata'] ?? data?.['userMetadata']) as Record<string, unknown> | undefined;
  const taskId = metadata?.['segueTaskId'];
  return typeof taskId === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(taskId) ? taskId : undefined;
}

/**
 * `POST /hooks/gemini`: Gemini's Standard Webhooks delivery that a video is ready. Verified
 * (signature, 5-minute window), acted on once per `webhook-id`, and only a hint: it makes the
 * task's poll due now, and the poll (the reconciler) confirms with Gemini before anything changes.
 */
export async function geminiHookRoutes(app: FastifyInstance, deps: GeminiHookDependencies): Promise<void> {
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => done(null, body));

  app.post('/hooks/gemini', async (request, reply) => {
    const rawBody = typeof request.body === 'string' ? request.body : '';
    const verified = deps.secrets.some((webhookSecret) => verifyStandardWebhook({ headers: request.headers, rawBody, secret: webhookSecret }));
    if (!verified) return reply.code(401).send({ error: 'invalid or stale webhook signature' });
    const id = String(request.headers['webhook-id']);
    if (!(await deps.storage.inboundWebhooks.recordOnce(id, 'gemini', Date.now()))) return reply.code(200).send({ status: 'duplicate' });
    let payload: unknown;
    try {
      payload = JSON.parse(rawBody);
    } catch {
      return reply.code(200).send({ status: 'ignored' });
    }
    const taskId = taskIdOf(payload);
    if (taskId) await deps.storage.jobs.wake(taskJobKey('task.poll', taskId));
    request.log.info({ taskId, webhookId: id }, 'gemini webhook received');
    return reply.code(200).send({ status: 'accepted' });
  });
}
