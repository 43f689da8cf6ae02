import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ValidationError } from '../../domain/errors.js';
import { EXTENSION_SECONDS, type Task, type TaskParameters } from '../../domain/task.js';
import type { BlobStore } from '../../ports/blob-store.js';
import type { KeyService } from '../../services/key-service.js';
import type { MediaImportService } from '../../services/media-import-service.js';
import type { ReadLimit } from '../../services/rate-limiter.js';
import type { TaskDeletion } from '../../services/task-deletion.js';
import type { TaskService } from '../../services/task-service.js';
import type { VideoExtensions } from '../../services/video-extensions.js';
import { apiKeyOf, authenticateApiKeys, POLLED_ROUTE, requireOwnedTask, sendOwnedTask } from '../auth.js';
import type { FinishedTaskRecords } from '../../services/finished-task-records.js';
import { idempotencyHeaders, idempotencyOf } from '../idempotency.js';
import { readJsonBodies } from '../json-bodies.js';
import { checkMediaUrls } from '../media-urls.js';
import { routeDocs } from '../openapi.js';
import { contentRoute } from './openai-content.js';
import { openAiError } from './openai-errors.js';
import { DEFAULT_MODEL, type OpenAiModels } from './openai-models.js';
import { FORM_TEXT_MAX_BYTES, readMultipartBodies } from './openai-multipart.js';
import type { OpenAiPresenter, VideoEcho } from './openai-presenter.js';
import { createVideoBody, extendVideoBody, imageTypeOf, listVideosQuery, openAiSchemaError, remixVideoBody, UploadedFile, videoParams } from './openai-requests.js';
import { openAiResponses } from './openai-responses.js';
import { answerableError } from '../storage-unavailable.js';

export interface OpenAiRouteDependencies {
  readonly keys: KeyService;
  readonly tasks: TaskService;
  /** The kept records of finished tasks that polling routes answer from. */
  readonly records: FinishedTaskRecords;
  readonly extensions: VideoExtensions;
  readonly deletion: TaskDeletion;
  readonly imports: MediaImportService;
  readonly blobs: BlobStore;
  readonly models: OpenAiModels;
  readonly presenter: OpenAiPresenter;
  readonly reads: ReadLimit;
  /** The largest file a form may carry (SEGUE_MEDIA_MAX_BYTES). */
  readonly mediaMaxBytes: number;
}

/** The name tasks made here record as their dialect (their webhooks are `video.*` events). */
export const OPENAI_DIALECT = 'openai';

/** How long clients should wait between polls (`openai-poll-after-ms`, read by the Python SDK's poll helper). */
const POLL_AFTER_MS = 2000;

/** The first frame of a generation as the engine takes it: a link (checked now) or a data URL. */
async function firstFrame(deps: OpenAiRouteDependencies, reference: UploadedFile | { image_url?: string | undefined; file_id?: string | undefined } | undefined): Promise<string[]> {
  if (reference === undefined) return [];
  if (reference instanceof UploadedFile) {
    const type = imageTypeOf(reference.bytes);
    if (!type) throw new ValidationError("Invalid 'input_reference': the file must be a JPEG, PNG or WebP image.", 'input_reference');
    if (reference.bytes.length > (FORM_TEXT_MAX_BYTES * 3) / 4) throw new ValidationError("Invalid 'input_reference': the image must be at most 20 MiB.", 'input_reference');
    return [`data:${type};base64,${reference.bytes.toString('base64')}`];
  }
  if (reference.file_id !== undefined) throw new ValidationError("'input_reference.file_id' is not supported here: upload the image, or give 'image_url'.", 'input_reference.file_id');
  if (reference.image_url === undefined) throw new ValidationError("Missing required parameter: 'input_reference.image_url'.", 'input_reference.image_url');
  await checkMediaUrls(deps.imports, [[reference.image_url, 'input_reference.image_url']]);
  return [reference.image_url];
}

/**
 * The OpenAI-compatible Videos API under `/v1` (`/videos…`, `/models`), for the official SDKs:
 * OpenAI's `video` object and error body, real HTTP statuses, multipart or JSON bodies. A video
 * is any task of the key's, whichever dialect made it; an extension or a remix continues it by 7 s.
 */
export async function openAiRoutes(app: FastifyInstance, deps: OpenAiRouteDependencies): Promise<void> {
  readJsonBodies(app);
  await readMultipartBodies(app, deps.mediaMaxBytes);
  authenticateApiKeys(app, deps.keys, deps.reads);
  app.setErrorHandler((error, request, reply: FastifyReply) => {
    const answer = openAiError(answerableError(error, request.log));
    if (answer.unexpected) request.log.error({ err: error }, 'unexpected error');
    if (answer.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, answer.retryAfterSeconds)));
    if (!answer.shouldRetry) reply.header('x-should-retry', 'false');
    return reply.code(answer.statusCode).send(answer.body);
  });
  app.setSchemaErrorFormatter(openAiSchemaError);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { message: `Invalid URL (${request.method} ${request.url.split('?')[0]})`, type: 'invalid_request_error', param: null, code: null } }),
  );
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (request.method === 'GET' || request.method === 'HEAD') reply.header('openai-poll-after-ms', String(POLL_AFTER_MS));
  });

  const routes = app.withTypeProvider<ZodTypeProvider>();
  const docs = (summary: string) => ({ ...routeDocs.openai, summary, consumes: ['application/json', 'multipart/form-data'] });

  routes.post(
    '/videos',
    { bodyLimit: FORM_TEXT_MAX_BYTES, schema: { ...docs('Create a video'), body: createVideoBody, headers: idempotencyHeaders, response: openAiResponses.video } },
    async (request) => {
      const { body } = request;
      const model = deps.models.resolve(body.model);
      const imageUrls = await firstFrame(deps, body.input_reference);
      const parameters: TaskParameters = {
        prompt: body.prompt,
        model: model.publicModel,
        aspectRatio: body.aspectRatio,
        mode: imageUrls.length > 0 ? 'first_and_last_frames' : 'text',
        imageUrls,
        watermark: null,
        negativePrompt: null,
        durationSeconds: body.durationSeconds,
        resolution: '720p',
        generateAudio: true,
        sourceVideoUrl: null,
        sourceVideoKey: null,
      };
      const key = apiKeyOf(request);
      const echo: VideoEcho = { model: body.model ?? DEFAULT_MODEL, prompt: body.prompt, seconds: body.seconds };
      const task = await deps.tasks.createGeneration({
        key,
        dialect: OPENAI_DIALECT,
        ...(model.modelId ? { modelId: model.modelId } : {}),
        parameters,
        seed: undefined,
        callbackUrl: key.webhookUrl,
        requestEcho: { ...echo, size: body.size, ...(body.input_reference ? { input_reference: body.input_reference instanceof UploadedFile ? 'file' : 'image_url' } : {}) },
        idempotency: idempotencyOf(request),
      });
      request.log.info({ taskId: task.id, model: echo.model }, 'video accepted');
      return deps.presenter.video(task);
    },
  );

  routes.post(
    '/videos/extensions',
    { schema: { ...docs('Extend a video by 7 seconds'), body: extendVideoBody, headers: idempotencyHeaders, response: openAiResponses.video } },
    async (request) => {
      const { video, prompt } = request.body;
      if (video instanceof UploadedFile) return extendUpload(deps, request, video, prompt, request.body.model);
      return extendVideo(deps, request, video.id, prompt, request.body.model, false);
    },
  );

  routes.post(
    '/videos/:video_id/remix',
    { schema: { ...docs('Remix a video: continue it with a new prompt'), params: videoParams, body: remixVideoBody, headers: idempotencyHeaders, response: openAiResponses.video } },
    async (request) => extendVideo(deps, request, request.params.video_id, request.body.prompt, undefined, true),
  );

  routes.get(
    '/videos',
    { ...POLLED_ROUTE, schema: { ...routeDocs.openai, summary: "The key's videos, newest first", querystring: listVideosQuery, response: openAiResponses.list } },
    async (request) => {
      const { after, limit, order } = request.query;
      const page = await deps.tasks.listOwned(apiKeyOf(request), { limit, order, ...(after ? { after } : {}) });
      const data = page.tasks.map((task) => deps.presenter.video(task));
      return { object: 'list' as const, data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: page.next !== null };
    },
  );

  const presentVideo = (task: Task) => deps.presenter.video(task);
  routes.get(
    '/videos/:video_id',
    { ...POLLED_ROUTE, schema: { ...routeDocs.openai, summary: 'A video, its status and progress', params: videoParams, response: openAiResponses.video } },
    (request, reply) => sendOwnedTask(deps, request, reply, 'openai.video', request.params.video_id, presentVideo),
  );

  routes.delete(
    '/videos/:video_id',
    { schema: { ...routeDocs.openai, summary: 'Delete a finished video and its media', params: videoParams, response: openAiResponses.deleted } },
    async (request) => {
      await deps.deletion.delete(apiKeyOf(request), request.params.video_id);
      return deps.presenter.deleted(request.params.video_id);
    },
  );

  contentRoute(app, deps);

  routes.get('/models', { schema: { ...routeDocs.openai, summary: 'The models this server serves', response: openAiResponses.models } }, async () => deps.models.list());
}

/** An extension (or a remix) of one of the key's videos: the stitched total is known from its source. */
async function extendVideo(deps: OpenAiRouteDependencies, request: FastifyRequest, videoId: string, prompt: string, modelName: string | undefined, remix: boolean) {
  const source = await requireOwnedTask(deps.tasks, request, videoId);
  const model = modelName === undefined ? undefined : deps.models.resolve(modelName);
  const key = apiKeyOf(request);
  const echo: VideoEcho & { video: { id: string } } = {
    model: modelName ?? deps.presenter.modelName(source),
    prompt,
    ...(source.result ? { seconds: String(Math.round(source.result.durationSeconds) + EXTENSION_SECONDS) } : {}),
    ...(remix ? { remixed_from_video_id: source.id } : {}),
    video: { id: source.id },
  };
  const task = await deps.extensions.extend({
    key,
    dialect: OPENAI_DIALECT,
    source: { taskId: source.id },
    prompt,
    seed: undefined,
    watermark: null,
    callbackUrl: key.webhookUrl,
    model: model?.publicModel,
    ...(model?.modelId ? { modelId: model.modelId } : {}),
    requestEcho: echo,
    idempotency: idempotencyOf(request),
  });
  request.log.info({ taskId: task.id, sourceTaskId: source.id, remix }, 'extension accepted');
  return deps.presenter.video(task);
}

/** An extension of an uploaded video (Segue did not make it): checked in full and stored now. */
async function extendUpload(deps: OpenAiRouteDependencies, request: FastifyRequest, video: UploadedFile, prompt: string, modelName: string | undefined) {
  const model = deps.models.resolve(modelName);
  const key = apiKeyOf(request);
  const task = await deps.extensions.extend({
    key,
    dialect: OPENAI_DIALECT,
    source: { url: `data:video/mp4;base64,${video.bytes.toString('base64')}` },
    sourceField: 'video',
    prompt,
    seed: undefined,
    watermark: null,
    callbackUrl: key.webhookUrl,
    model: model.publicModel,
    ...(model.modelId ? { modelId: model.modelId } : {}),
    importParameters: {
      prompt,
      model: model.publicModel,
      aspectRatio: 'auto',
      mode: 'text',
      imageUrls: [],
      watermark: null,
      negativePrompt: null,
      durationSeconds: EXTENSION_SECONDS,
      resolution: '720p',
      generateAudio: true,
      sourceVideoUrl: null,
      sourceVideoKey: null,
    },
    requestEcho: { model: modelName ?? DEFAULT_MODEL, prompt, video: { filename: video.filename, size: video.bytes.length } },
    idempotency: idempotencyOf(request),
  });
  request.log.info({ taskId: task.id }, 'extension of an uploaded video accepted');
  return deps.presenter.video(task);
}
