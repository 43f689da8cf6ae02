import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ValidationError } from '../../domain/errors.js';
import type { Task } from '../../domain/task.js';
import type { FinishedTaskRecords } from '../../services/finished-task-records.js';
import type { CallbackService } from '../../services/callback-service.js';
import type { KeyService } from '../../services/key-service.js';
import type { MediaImportService } from '../../services/media-import-service.js';
import type { ReadLimit } from '../../services/rate-limiter.js';
import type { TaskService } from '../../services/task-service.js';
import type { VideoExtensions } from '../../services/video-extensions.js';
import { apiKeyOf, authenticateApiKeys, POLLED_ROUTE, sendOwnedTask } from '../auth.js';
import { idempotencyHeaders, idempotencyOf } from '../idempotency.js';
import { readJsonBodies } from '../json-bodies.js';
import { checkMediaUrls } from '../media-urls.js';
import { routeDocs } from '../openapi.js';
import { veoErrorEnvelope, type VeoRouteAnswers } from './veo-errors.js';
import { taskListRoutes } from './task-list-routes.js';
import { FOUR_K_UNAVAILABLE, type VeoPresenter } from './veo-presenter.js';
import {
  extendBodySchema,
  fourKBodySchema,
  generateBodySchema,
  generateEcho,
  generationParameters,
  redeliverBodySchema,
  taskIdQuerySchema,
  upgradeQuerySchema,
  veoSchemaError,
} from './veo-requests.js';
import { veoResponses } from './veo-responses.js';
import { answerableError } from '../storage-unavailable.js';

export interface VeoRouteDependencies {
  readonly keys: KeyService;
  readonly tasks: TaskService;
  /** The kept records of finished tasks that polling routes answer from. */
  readonly records: FinishedTaskRecords;
  readonly extensions: VideoExtensions;
  readonly callbacks: CallbackService;
  readonly reads: ReadLimit;
  readonly presenter: VeoPresenter;
  /** Checks the image URLs of a generation at submit, as the universal dialect's. */
  readonly imports: MediaImportService;
  /** Large enough for a data: URI of the biggest accepted image. */
  readonly mediaBodyLimitBytes: number;
}

const success = <T>(data: T) => ({ code: 200, msg: 'success', data });

/** A record-level 422 of the upgrade routes (the dialect's own message). */
const recordMissing = (msg: string) => ({ code: 422, msg, data: null });

/** On the polling and upgrade routes the dialect answers an unknown or unfinished record with 422. */
const recordAnswers: VeoRouteAnswers = {
  not_found: [422, 'record is null'],
  source_not_found: [422, 'record is null'],
  source_not_ready: [422, 'record status is not success'],
};
const recordRoute = { config: { veoAnswers: recordAnswers } };
const polledRecordRoute = { config: { ...POLLED_ROUTE.config, veoAnswers: recordAnswers } };

/** The name tasks made here record as their dialect (their callbacks are this dialect's). */
export const VEO_DIALECT = 'veo';

/** The extend route's `model` names the tier; tasks record the public model id. */
const extendModels = { fast: 'veo3_fast', quality: 'veo3' } as const;

/**
 * The Veo dialect, registered under `/api/v1` (`/veo/*`, `/chat/credit`): every answer is HTTP 200 with the
 * `{code, msg, data}` envelope, the real status in `code`, as the dialect's clients expect.
 */
export async function veoRoutes(app: FastifyInstance, deps: VeoRouteDependencies): Promise<void> {
  readJsonBodies(app);
  authenticateApiKeys(app, deps.keys, deps.reads);

  app.setErrorHandler((error, request, reply: FastifyReply) => {
    const { unexpected, retryAfterSeconds, ...envelope } = veoErrorEnvelope(answerableError(error, request.log), (request.routeOptions.config as { veoAnswers?: VeoRouteAnswers }).veoAnswers);
    if (unexpected) request.log.error({ err: error }, 'unexpected error');
    if (retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, retryAfterSeconds)));
    return reply.code(200).send(envelope);
  });

  app.setSchemaErrorFormatter(veoSchemaError);
  app.setNotFoundHandler((_request, reply) => reply.code(200).send({ code: 404, msg: 'Not found', data: null }));

  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '/veo/generate',
    {
      bodyLimit: deps.mediaBodyLimitBytes,
      schema: { ...routeDocs.veo, summary: 'Generate a video', body: generateBodySchema, headers: idempotencyHeaders, response: veoResponses.created },
    },
    async (request) => {
      const { body } = request;
      const parameters = generationParameters(body);
      await checkMediaUrls(deps.imports, parameters.imageUrls.map((url, index) => [url, `imageUrls[${index}]`] as const));
      const seed = body.seeds ?? body.seed ?? undefined;
      const task = await deps.tasks.createGeneration({
        key: apiKeyOf(request),
        dialect: VEO_DIALECT,
        translationRequested: body.enableTranslation ?? true,
        parameters,
        seed,
        callbackUrl: body.callBackUrl,
        requestEcho: generateEcho(body, parameters, seed),
        idempotency: idempotencyOf(request),
      });
      request.log.info({ taskId: task.id }, 'generation accepted');
      return success({ taskId: task.id });
    },
  );

  routes.post(
    '/veo/extend',
    { schema: { ...routeDocs.veo, summary: 'Extend a finished video', body: extendBodySchema, headers: idempotencyHeaders, response: veoResponses.created } },
    async (request) => {
      const { body } = request;
      const seed = body.seeds ?? body.seed ?? undefined;
      const task = await deps.extensions.extend({
        key: apiKeyOf(request),
        dialect: VEO_DIALECT,
        source: { taskId: body.taskId },
        prompt: body.prompt,
        seed,
        watermark: body.watermark,
        callbackUrl: body.callBackUrl,
        model: body.model ? extendModels[body.model] : undefined,
        requestEcho: {
          taskId: body.taskId,
          prompt: body.prompt,
          ...(seed !== undefined ? { seeds: seed } : {}),
          ...(body.watermark ? { waterMark: body.watermark } : {}),
          ...(body.callBackUrl ? { callBackUrl: body.callBackUrl } : {}),
          model: body.model ?? 'fast',
        },
        idempotency: idempotencyOf(request),
      });
      request.log.info({ taskId: task.id, sourceTaskId: body.taskId }, 'extension accepted');
      return success({ taskId: task.id });
    },
  );

  const presentRecordInfo = async (task: Task) => success(await deps.presenter.recordInfo(task));
  routes.get(
    '/veo/record-info',
    { ...polledRecordRoute, schema: { ...routeDocs.veo, summary: 'A task and its result', querystring: taskIdQuerySchema, response: veoResponses.recordInfo } },
    (request, reply) => sendOwnedTask(deps, request, reply, 'veo.record-info', request.query.taskId, presentRecordInfo),
  );

  routes.get(
    '/veo/get-1080p-video',
    {
      ...recordRoute,
      schema: { ...routeDocs.veo, summary: 'Upgrade a video to 1080p', querystring: upgradeQuerySchema, headers: idempotencyHeaders, response: veoResponses.fullHd },
    },
    async (request) => {
      const { taskId, index } = request.query;
      if (index !== undefined && index !== '0') return recordMissing('record result data not exist');
      const upgrade = await deps.tasks.requestUpgrade(apiKeyOf(request), taskId, '1080p', null, VEO_DIALECT, idempotencyOf(request));
      const url = await deps.presenter.videoUrl(upgrade.task);
      if (url) return success({ resultUrl: url });
      if (upgrade.task.state === 'failed') return { code: 500, msg: 'Internal Error, Please try again later.', data: null };
      return { code: 400, msg: '1080P is processing. It should be ready in 1-2 minutes. Please check back shortly.', data: null };
    },
  );

  routes.post(
    '/veo/get-4k-video',
    { ...recordRoute, schema: { ...routeDocs.veo, summary: 'Upgrade a video to 4K', body: fourKBodySchema, headers: idempotencyHeaders, response: veoResponses.fourK } },
    async (request) => {
      const { body } = request;
      if ((body.index ?? 0) !== 0) return recordMissing('record result data not exist');
      const { task, created } = await deps.tasks.requestUpgrade(apiKeyOf(request), body.taskId, '4k', body.callBackUrl, VEO_DIALECT, idempotencyOf(request));
      const none = { taskId: task.id, resultUrls: null, imageUrls: null };
      if (created) return success(none);
      const files = await deps.presenter.fourKFiles(task);
      if (files) return { code: 422, msg: 'The video has been generated successfully', data: { taskId: task.id, ...files } };
      if (task.state === 'failed') return { code: 500, msg: FOUR_K_UNAVAILABLE, data: { taskId: task.id } };
      return { code: 422, msg: '4k is processing. It should be ready in 5-10 minutes. Please check back shortly.', data: none };
    },
  );

  // Segue's own: what happened to a task's callbacks, and sending them again.
  routes.get(
    '/callbacks',
    { ...polledRecordRoute, schema: { ...routeDocs.veo, summary: "A task's callback deliveries", querystring: taskIdQuerySchema, response: veoResponses.deliveries } },
    async (request) => success({ deliveries: await deps.callbacks.listForTask(request.query.taskId, apiKeyOf(request).id) }),
  );

  routes.post(
    '/callbacks/redeliver',
    { schema: { ...routeDocs.veo, summary: 'Send callbacks again', body: redeliverBodySchema, response: veoResponses.redelivered } },
    async (request) => {
      const key = apiKeyOf(request);
      const { deliveryId, exhausted } = request.body;
      if (deliveryId) return success({ delivery: await deps.callbacks.redeliver(deliveryId, key.id) });
      if (exhausted) return success({ redelivered: await deps.callbacks.redeliverExhausted(key.id) });
      throw new ValidationError('give deliveryId, or exhausted: true', 'deliveryId');
    },
  );

  taskListRoutes(app, deps);

  routes.get('/chat/credit', { ...POLLED_ROUTE, schema: { ...routeDocs.veo, summary: 'The credit balance', response: veoResponses.credit } }, async (request) =>
    success(await deps.keys.balance(apiKeyOf(request).id)),
  );
}
