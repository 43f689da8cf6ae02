import { NotFoundError } from '../domain/errors.js';
import type { Task, TaskParameters } from '../domain/task.js';
import type { IdempotencyRequest } from '../ports/idempotency-store.js';
import type { ApiKeyRecord } from '../ports/key-store.js';
import type { MediaImportService } from './media-import-service.js';
import type { TaskService } from './task-service.js';

/** The video to extend: a task of the caller's, a link (any https URL, or one of Segue's own), or a data: URI. */
export type VideoSource = { readonly taskId: string } | { readonly url: string };

/** One extension, whatever the dialect and however the source is given. */
export interface ExtendVideoRequest {
  readonly key: ApiKeyRecord;
  /** The HTTP dialect taking the task (it shapes the task's callbacks). */
  readonly dialect: string;
  readonly source: VideoSource;
  readonly prompt: string;
  readonly seed: number | undefined;
  readonly watermark: string | null;
  readonly callbackUrl: string | null;
  /** The public model to extend with (the source task's when not given). */
  readonly model: string | undefined;
  /** The model id as the client named it, when routes may name it. */
  readonly modelId?: string;
  /** The request field that gave the source, as refusals of it name it (the universal dialect's `video_url` when absent). */
  readonly sourceField?: string;
  /** For a video Segue did not make: the task's parameters (the dialect's defaults, its orientation). */
  readonly importParameters?: TaskParameters;
  readonly requestEcho: Readonly<Record<string, unknown>>;
  readonly idempotency?: IdempotencyRequest;
}

/**
 * The one use-case behind every dialect's "extend this video". A task id extends that task. A
 * link to one of the caller's own Segue results extends that task too, so the lineage is kept and
 * an upstream that made it can continue it natively. Any other link is checked now and fetched
 * when the task runs; a data: URI is checked in full and stored now (and dropped again if the
 * task is refused).
 */
export class VideoExtensions {
  constructor(
    private readonly tasks: TaskService,
    private readonly imports: MediaImportService,
    /** The task whose result one of Segue's own video links points at, if the URL is such a link. */
    private readonly taskOfOwnLink: (url: string) => string | undefined,
  ) {}

  async extend(request: ExtendVideoRequest): Promise<Task> {
    const replay = await this.tasks.replayed(request.key, request.idempotency);
    if (replay) return replay;
    if ('taskId' in request.source) return this.ofTask(request, request.source.taskId);
    const url = request.source.url;
    const ownTaskId = this.taskOfOwnLink(url);
    if (ownTaskId) {
      // Another key's link is not this caller's task: it is fetched like any other URL.
      const extension = await this.ofTask(request, ownTaskId).catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
      if (extension) return extension;
    }
    return this.ofImport(request, url);
  }

  private ofTask(request: ExtendVideoRequest, sourceTaskId: string): Promise<Task> {
    return this.tasks.createExtension({
      key: request.key,
      dialect: request.dialect,
      sourceTaskId,
      prompt: request.prompt,
      seed: request.seed,
      watermark: request.watermark,
      callbackUrl: request.callbackUrl,
      model: request.model,
      ...(request.modelId ? { modelId: request.modelId } : {}),
      requestEcho: request.requestEcho,
      ...(request.idempotency ? { idempotency: request.idempotency } : {}),
    });
  }

  private async ofImport(request: ExtendVideoRequest, url: string): Promise<Task> {
    if (!request.importParameters) throw new NotFoundError('the video to extend does not exist', 'source_not_found');
    const isData = url.startsWith('data:');
    const field = request.sourceField ?? 'video_url';
    if (!isData) await this.imports.checkUrl(url, field);
    const sourceVideoKey = isData ? await this.imports.storeDataUriVideo(url, field) : null;
    try {
      const task = await this.tasks.createImportedExtension({
        key: request.key,
        dialect: request.dialect,
        callbackUrl: request.callbackUrl,
        ...(request.modelId ? { modelId: request.modelId } : {}),
        parameters: { ...request.importParameters, sourceVideoKey, sourceVideoUrl: isData ? null : url },
        seed: request.seed,
        requestEcho: request.requestEcho,
        ...(request.idempotency ? { idempotency: request.idempotency } : {}),
      });
      // A concurrent duplicate (same Idempotency-Key) won: its own upload is the source, not this one.
      if (sourceVideoKey && task.parameters.sourceVideoKey !== sourceVideoKey) await this.imports.discard(sourceVideoKey);
      return task;
    } catch (error) {
      if (sourceVideoKey) await this.imports.discard(sourceVideoKey);
      throw error;
    }
  }
}
