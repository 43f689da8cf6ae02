import type { FastifyInstance, FastifyReply } from 'fastify';
import { NotFoundError } from '../../domain/errors.js';
import type { ApiKeyRecord } from '../../ports/key-store.js';
import type { KeyService } from '../../services/key-service.js';
import type { ReadLimit } from '../../services/rate-limiter.js';
import type { MediaImportService } from '../../services/media-import-service.js';
import type { TaskService } from '../../services/task-service.js';
import { apiKeyOf, authenticateApiKeys, POLLED_ROUTE, requireOwnedTask } from '../auth.js';
import { readJsonBodies } from '../json-bodies.js';
import { checkMediaUrls } from '../media-urls.js';
import { universalError } from './universal-errors.js';
import type { UniversalPresenter } from './universal-presenter.js';
import { parseUniversalCreate, parseUniversalFetch, type UniversalCreate } from './universal-requests.js';

export interface UniversalRouteDependencies {
  readonly keys: KeyService;
  readonly tasks: TaskService;
  readonly imports: MediaImportService;
  readonly presenter: UniversalPresenter;
  readonly reads: ReadLimit;
  /** The task whose result one of Segue's own video links points at, if the URL is such a link. */
  readonly taskOfOwnLink: (url: string) => string | undefined;
  /** Large enough for a data: URI of the biggest accepted video. */
  readonly mediaBodyLimitBytes: number;
}

/**
 * The universal video dialect (`/v2/video/generations`): real HTTP statuses and the NestJS-style
 * error body `{message, path, requestId, statusCode, timestamp}`.
 */
export async function universalRoutes(app: FastifyInstance, deps: UniversalRouteDependencies): Promise<void> {
  readJsonBodies(app);
  authenticateApiKeys(app, deps.keys, deps.reads);
  app.setErrorHandler((error, request, reply: FastifyReply) => {
    const { statusCode, message, unexpected, retryAfterSeconds } = universalError(error);
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

  app.post('/video/generations', { bodyLimit: deps.mediaBodyLimitBytes }, async (request) => {
    const key = apiKeyOf(request);
    const create = parseUniversalCreate(request.body);
    await checkMediaUrls(
      deps.imports,
      create.parameters.imageUrls.map((url, index) => [url, create.model.kind === 'reference' ? `image_urls[${index}]` : index ? 'last_image_url' : 'image_url'] as const),
    );
    const task = create.videoUrl
      ? await createImportedExtension(deps, key, create, create.videoUrl)
      : await deps.tasks.createGeneration({ key, modelId: create.modelId, parameters: create.parameters, seed: create.seed, callbackUrl: null, requestEcho: create.requestEcho });
    request.log.info({ taskId: task.id, model: create.requestEcho['model'] }, 'generation accepted');
    return deps.presenter.created(task);
  });

  app.get('/video/generations', POLLED_ROUTE, async (request) => {
    const { generationId } = parseUniversalFetch(request.query);
    const task = await requireOwnedTask(deps.tasks, request, generationId);
    return deps.presenter.fetched(task);
  });
}

/**
 * An extension of a video handed in by URL (checked now, fetched when the task runs) or data: URI
 * (stored now). A link to one of the caller's own Segue results extends that task itself, so the
 * lineage is kept and an upstream that made it can continue it natively.
 */
async function createImportedExtension(deps: UniversalRouteDependencies, key: ApiKeyRecord, create: UniversalCreate, videoUrl: string) {
  const ownTaskId = deps.taskOfOwnLink(videoUrl);
  if (ownTaskId) {
    const extension = await deps.tasks.createExtension({
      key,
      sourceTaskId: ownTaskId,
      prompt: create.parameters.prompt,
      seed: create.seed,
      watermark: null,
      callbackUrl: null,
      model: create.parameters.model,
      modelId: create.modelId,
      requestEcho: create.requestEcho,
    }).catch((error: unknown) => {
      // Another key's link: not this caller's task, so it is fetched like any other URL.
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
    if (extension) return extension;
  }
  const isData = videoUrl.startsWith('data:');
  await checkMediaUrls(deps.imports, [[videoUrl, 'video_url']]);
  const sourceVideoKey = isData ? await deps.imports.storeDataUriVideo(videoUrl, 'video_url') : null;
  try {
    return await deps.tasks.createImportedExtension({
      key,
      modelId: create.modelId,
      parameters: { ...create.parameters, sourceVideoKey, sourceVideoUrl: isData ? null : videoUrl },
      seed: create.seed,
      requestEcho: create.requestEcho,
    });
  } catch (error) {
    if (sourceVideoKey) await deps.imports.discard(sourceVideoKey);
    throw error;
  }
}
