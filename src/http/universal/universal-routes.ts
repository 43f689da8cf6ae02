import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Task } from '../../domain/task.js';
import type { KeyService } from '../../services/key-service.js';
import type { ReadLimit } from '../../services/rate-limiter.js';
import type { MediaImportService } from '../../services/media-import-service.js';
import type { TaskService } from '../../services/task-service.js';
import type { VideoExtensions } from '../../services/video-extensions.js';
import { apiKeyOf, authenticateApiKeys, POLLED_ROUTE, sendOwnedTask } from '../auth.js';
import type { FinishedTaskRecords } from '../../services/finished-task-records.js';
import { idempotencyHeaders, idempotencyOf } from '../idempotency.js';
import { readJsonBodies } from '../json-bodies.js';
import { checkMediaUrls } from '../media-urls.js';
import { routeDocs } from '../openapi.js';
import { universalError } from './universal-errors.js';
import type { UniversalPresenter } from './universal-presenter.js';
import { fetchQuerySchema, universalCreateSchema, universalSchemaError } from './universal-requests.js';
import { universalResponses } from './universal-responses.js';
import { answerableError } from '../storage-unavailable.js';

export interface UniversalRouteDependencies {
  readonly keys: KeyService;
  readonly tasks: TaskService;
  /** The kept records of finished tasks that polling routes answer from. */
  readonly records: FinishedTaskRecords;
  readonly extensions: VideoExtensions;
  readonly imports: MediaImportService;
  readonly presenter: UniversalPresenter;
  readonly reads: ReadLimit;
  /** Large enough for a data: URI of the biggest accepted video. */
  readonly mediaBodyLimitBytes: number;
}

/** The name tasks made here record as their dialect. */
export const UNIVERSAL_DIALECT = 'universal';

/**
 * The universal video dialect (`/v2/video/generations`): real HTTP statuses and the NestJS-style
 * error body `{message, path, requestId, statusCode, timestamp}`.
 */
export async function universalRoutes(app: FastifyInstance, deps: UniversalRouteDependencies): Promise<void> {
  readJsonBodies(app);
  authenticateApiKeys(app, deps.keys, deps.reads);
  app.setErrorHandler((error, request, reply: FastifyReply) => {
    const { statusCode, message, unexpected, retryAfterSeconds } = universalError(answerableError(error, request.log));
    if (unexpected) request.log.error({ err: error }, 'unexpected error');
    if (retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, retryAfterSeconds)));
    return reply.code(statusCode).send({
      message,
      path: request.url.split('?')[0],
      requestId: request.id,
      statusCode,
      timestamp: new Date().toISOString(),
    });
  });
  app.setSchemaErrorFormatter(universalSchemaError);

  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '/video/generations',
    {
      bodyLimit: deps.mediaBodyLimitBytes,
      schema: { ...routeDocs.universal, summary: 'Generate or extend a video', body: universalCreateSchema, headers: idempotencyHeaders, response: universalResponses.created },
    },
    async (request) => {
      const create = request.body;
      await checkMediaUrls(
        deps.imports,
        create.parameters.imageUrls.map((url, index) => [url, create.model.kind === 'reference' ? `image_urls[${index}]` : index ? 'last_image_url' : 'image_url'] as const),
      );
      const idempotency = idempotencyOf(request);
      const common = { key: apiKeyOf(request), dialect: UNIVERSAL_DIALECT, modelId: create.modelId, seed: create.seed, callbackUrl: null, requestEcho: create.requestEcho, ...(idempotency ? { idempotency } : {}) };
      const task = create.videoUrl
        ? await deps.extensions.extend({
            ...common,
            source: { url: create.videoUrl },
            prompt: create.parameters.prompt,
            watermark: null,
            model: create.parameters.model,
            importParameters: create.parameters,
          })
        : await deps.tasks.createGeneration({ ...common, parameters: create.parameters });
      request.log.info({ taskId: task.id, model: create.requestEcho['model'] }, 'generation accepted');
      return deps.presenter.created(task);
    },
  );

  const presentGeneration = (task: Task) => deps.presenter.fetched(task);
  routes.get(
    '/video/generations',
    { ...POLLED_ROUTE, schema: { ...routeDocs.universal, summary: 'A generation and its video', querystring: fetchQuerySchema, response: universalResponses.fetched } },
    (request, reply) => sendOwnedTask(deps, request, reply, 'universal.generation', request.query.generation_id, presentGeneration),
  );
}
