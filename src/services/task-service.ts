import { IdempotencyConflictError, InvalidStateError, NotFoundError, ValidationError } from '../domain/errors.js';
import { newTaskId, randomSeed } from '../domain/ids.js';
import { IDEMPOTENCY_WINDOW_MS } from '../domain/idempotency.js';
import {
  EXTENSION_SECONDS,
  GENERATION_SECONDS,
  MAX_SOURCE_SECONDS,
  type Task,
  type TaskParameters,
} from '../domain/task.js';
import { jobRequest } from '../jobs/job-kinds.js';
import { type AddressPolicy, checkUrlBeforeUse } from '../net/address-guard.js';
import type { TaskPlacement } from '../engine/routing/task-placement.js';
import type { IdempotencyRequest } from '../ports/idempotency-store.js';
import type { ApiKeyRecord } from '../ports/key-store.js';
import type { Storage } from '../ports/storage.js';
import type { Admission } from './admission.js';
import { hashApiKey } from './key-service.js';
import { PerNameQueue } from './per-name-queue.js';

export interface NewGeneration {
  readonly key: ApiKeyRecord;
  /** The HTTP dialect taking the task (it shapes the task's callbacks). */
  readonly dialect: string;
  /** The model id as the client named it, when routes may name it (the universal dialect's ids). */
  readonly modelId?: string;
  /** The Veo dialect's `enableTranslation` (there is no translator: the English-only rule decides). */
  readonly translationRequested?: boolean;
  readonly parameters: TaskParameters;
  readonly seed: number | undefined;
  readonly callbackUrl: string | null;
  readonly requestEcho: Readonly<Record<string, unknown>>;
  readonly idempotency?: IdempotencyRequest;
}

export interface NewExtension {
  readonly key: ApiKeyRecord;
  /** The HTTP dialect taking the task (it shapes the task's callbacks). */
  readonly dialect: string;
  readonly sourceTaskId: string;
  readonly prompt: string;
  readonly seed: number | undefined;
  readonly watermark: string | null;
  readonly callbackUrl: string | null;
  /** The public model to extend with; the source's model when not given. */
  readonly model: string | undefined;
  readonly modelId?: string;
  readonly requestEcho: Readonly<Record<string, unknown>>;
  readonly idempotency?: IdempotencyRequest;
}

/** An extension of a video Segue did not make (a link or an uploaded file). */
export interface NewImportedExtension {
  readonly key: ApiKeyRecord;
  /** The HTTP dialect taking the task (it shapes the task's callbacks). */
  readonly dialect: string;
  readonly modelId?: string;
  readonly parameters: TaskParameters;
  readonly seed: number | undefined;
  readonly callbackUrl: string | null;
  readonly requestEcho: Readonly<Record<string, unknown>>;
  readonly idempotency?: IdempotencyRequest;
}

/** Options of the one place that creates a task. */
/** What a create gives of a new task; admission and storage fill in the rest. */
type NewTaskFields = Omit<Task, 'state' | 'progress' | 'failure' | 'result' | 'engineDetails' | 'createdAt' | 'startedAt' | 'finishedAt' | 'providerHandle' | 'price' | 'upstreamOutput'>;

interface TaskInsertOptions {
  readonly translationRequested?: boolean;
  /** An upgrade's source length, for its price. */
  readonly sourceSeconds?: number;
  readonly idempotency?: IdempotencyRequest | undefined;
}

/** Another request took the same Idempotency-Key while this one was being created. */
class IdempotencyKeyTaken extends Error {}

/** Use-cases on tasks shared by every dialect: create a generation, extend a task, read a task. */
export class TaskService {
  /**
   * One key's creating transactions in this process, two at a time: one runs while the next has
   * begun and waits for the key's lock in the database, so the lock passes on at each commit
   * without a round trip; the rest wait here rather than each holding a pooled connection.
   */
  private readonly createsPerKey = new PerNameQueue(2);

  constructor(
    private readonly storage: Storage,
    private readonly placement: TaskPlacement,
    private readonly addressPolicy: AddressPolicy,
    private readonly admission: Admission,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The task an earlier request with the same `Idempotency-Key` made within the window, or
   * undefined; the same key with another request is a conflict.
   */
  async replayed(key: ApiKeyRecord, idempotency: IdempotencyRequest | undefined): Promise<Task | undefined> {
    if (!idempotency) return undefined;
    const record = await this.storage.idempotency.find(key.id, idempotency.key, this.now() - IDEMPOTENCY_WINDOW_MS);
    if (!record) return undefined;
    if (record.fingerprint !== idempotency.fingerprint) {
      throw new IdempotencyConflictError('This Idempotency-Key was already used with a different request');
    }
    return this.storage.tasks.findById(record.taskId);
  }

  async createGeneration(input: NewGeneration): Promise<Task> {
    const replay = await this.replayed(input.key, input.idempotency);
    if (replay) return replay;
    const { model, mode } = input.parameters;
    const placement = this.placement.placeGeneration({ operation: 'generate', model, mode }, input.modelId);
    await this.checkCallbackUrl(input.callbackUrl);
    const id = newTaskId();
    return this.insertWithStart(input.key, {
      id,
      apiKeyId: input.key.id,
      operation: 'generate',
      parentTaskId: null,
      rootTaskId: id,
      dialect: input.dialect,
      parameters: input.parameters,
      requestEcho: input.requestEcho,
      seed: input.seed ?? randomSeed(),
      callbackUrl: input.callbackUrl,
      ...placement,
    }, { translationRequested: input.translationRequested ?? false, idempotency: input.idempotency });
  }

  async createExtension(input: NewExtension): Promise<Task> {
    const replay = await this.replayed(input.key, input.idempotency);
    if (replay) return replay;
    const source = await this.storage.tasks.findOwned(input.sourceTaskId, input.key.id);
    if (!source) throw new NotFoundError('the task to extend does not exist', 'source_not_found');
    await this.assertExtendable(source);
    const model = input.model ?? source.parameters.model;
    const placement = this.placement.placeExtension(source, model, input.modelId);
    await this.checkCallbackUrl(input.callbackUrl);
    const result = source.result!;
    return this.insertWithStart(input.key, {
      id: newTaskId(),
      apiKeyId: input.key.id,
      operation: 'extend',
      parentTaskId: source.id,
      rootTaskId: source.rootTaskId,
      dialect: input.dialect,
      parameters: {
        ...source.parameters,
        model,
        prompt: input.prompt,
        aspectRatio: result.width >= result.height ? '16:9' : '9:16',
        mode: 'text',
        imageUrls: [],
        watermark: input.watermark,
      },
      requestEcho: input.requestEcho,
      seed: input.seed ?? randomSeed(),
      callbackUrl: input.callbackUrl,
      ...placement,
    }, { idempotency: input.idempotency });
  }

  async createImportedExtension(input: NewImportedExtension): Promise<Task> {
    const replay = await this.replayed(input.key, input.idempotency);
    if (replay) return replay;
    const placement = this.placement.placeExtension(null, input.parameters.model, input.modelId);
    await this.checkCallbackUrl(input.callbackUrl);
    const id = newTaskId();
    return this.insertWithStart(input.key, {
      id,
      apiKeyId: input.key.id,
      operation: 'extend',
      parentTaskId: null,
      rootTaskId: id,
      dialect: input.dialect,
      parameters: input.parameters,
      requestEcho: input.requestEcho,
      seed: input.seed ?? randomSeed(),
      callbackUrl: input.callbackUrl,
      ...placement,
    }, { idempotency: input.idempotency });
  }

  /**
   * The upgrade of a finished video to 1080p or 4K: the first request starts it as a task of its
   * own; later requests get that same task back (whatever its state), never a second one.
   */
  async requestUpgrade(
    key: ApiKeyRecord,
    sourceTaskId: string,
    target: '1080p' | '4k',
    callbackUrl: string | null,
    dialect: string,
    idempotency?: IdempotencyRequest,
  ): Promise<{ task: Task; created: boolean }> {
    const replay = await this.replayed(key, idempotency);
    if (replay) return { task: replay, created: false };
    const operation = target === '4k' ? 'upgrade_4k' : 'upgrade_1080p';
    const source = await this.storage.tasks.findOwned(sourceTaskId, key.id);
    if (!source) throw new NotFoundError('the task to upgrade does not exist', 'source_not_found');
    if (source.operation !== 'generate' && source.operation !== 'extend') {
      throw new InvalidStateError('An upgraded video cannot be upgraded again; use the original task.', 'upgrade_not_allowed');
    }
    if (source.state !== 'succeeded' || !source.result) throw new InvalidStateError('the task to upgrade has not succeeded', 'source_not_ready');
    const existing = await this.storage.tasks.findChild(source.id, operation);
    if (existing) return { task: existing, created: false };
    const placement = this.placement.placeUpgrade(source, operation);
    if (!placement) throw new InvalidStateError(`no provider entry can make the ${target} version of this video`, 'upgrade_unavailable', { target: target === '4k' ? '4K' : '1080P' });
    await this.checkCallbackUrl(callbackUrl);
    try {
      const task = await this.insertWithStart(
        key,
        {
          id: newTaskId(),
          apiKeyId: key.id,
          operation,
          parentTaskId: source.id,
          rootTaskId: source.rootTaskId,
          dialect,
          parameters: { ...source.parameters, watermark: null },
          requestEcho: { taskId: source.id, ...(callbackUrl ? { callBackUrl: callbackUrl } : {}) },
          seed: source.seed,
          callbackUrl,
          ...placement,
        },
        { sourceSeconds: source.result.durationSeconds, idempotency },
      );
      return { task, created: true };
    } catch (error) {
      // Another request started the same upgrade a moment ago: that one is the upgrade.
      const raced = await this.storage.tasks.findChild(source.id, operation);
      if (raced) return { task: raced, created: false };
      throw error;
    }
  }

  /**
   * The task if the presented API key is active and owns it: key check and lookup in one
   * query, for the routes clients poll. Undefined says neither which part failed.
   */
  async findForPresentedKey(taskId: string, presentedKey: string): Promise<Task | undefined> {
    return this.storage.tasks.findOwnedByKeyHash(taskId, hashApiKey(presentedKey));
  }

  /**
   * A page of the key's own tasks, newest first (or oldest first with `order: 'asc'`). `after` is
   * the last id of the previous page (an id the key does not own is NotFound); `next` is the id
   * to ask after, null on the last page.
   */
  async listOwned(
    key: ApiKeyRecord,
    page: { readonly limit: number; readonly after?: string; readonly order?: 'asc' | 'desc' },
  ): Promise<{ tasks: Task[]; next: string | null }> {
    const after = page.after === undefined ? undefined : await this.storage.tasks.findOwned(page.after, key.id);
    if (page.after !== undefined && !after) throw new NotFoundError('the task to list after does not exist');
    const found = await this.storage.tasks.listOwned(key.id, { limit: page.limit + 1, ...(page.order ? { order: page.order } : {}), ...(after ? { after } : {}) });
    const tasks = found.slice(0, page.limit);
    return { tasks, next: found.length > page.limit ? tasks[tasks.length - 1]!.id : null };
  }

  private async assertExtendable(source: Task): Promise<void> {
    if (source.operation === 'upgrade_1080p' || (await this.storage.tasks.findChild(source.id, 'upgrade_1080p'))) {
      throw new InvalidStateError('a video upgraded to 1080p cannot be extended', 'upgraded_cannot_extend');
    }
    if (source.operation === 'upgrade_4k') {
      throw new InvalidStateError('A 4K upgrade cannot be extended; extend the original task instead.', 'upgrade_not_allowed');
    }
    if (source.state !== 'succeeded' || !source.result) {
      throw new InvalidStateError(
        source.state === 'failed'
          ? 'The original task failed; only a successfully generated video can be extended.'
          : 'The original task has not finished yet; only a successfully generated video can be extended.',
        'source_not_ready',
      );
    }
    if (source.result.durationSeconds > MAX_SOURCE_SECONDS + 0.5) {
      throw new InvalidStateError(
        `The video is ${Math.round(source.result.durationSeconds)} s long; only videos up to ${MAX_SOURCE_SECONDS} s can be extended (the result would exceed ${MAX_SOURCE_SECONDS + EXTENSION_SECONDS} s).`,
        'cannot_extend',
      );
    }
  }

  private async checkCallbackUrl(callbackUrl: string | null): Promise<void> {
    if (callbackUrl === null) return;
    try {
      await checkUrlBeforeUse(callbackUrl, this.addressPolicy);
    } catch (error) {
      throw new ValidationError(`callBackUrl ${(error as Error).message}`, 'callBackUrl');
    }
  }

  /**
   * Admission, then the task, its credit hold and its first job in one transaction: nothing is
   * accepted and then lost, and nothing is held for a task that was not created. One key's
   * creating transactions run one at a time in every process on the database (its count of
   * unfinished tasks and its balance are read and taken there), queued first in this process
   * (`createsPerKey`).
   */
  private async insertWithStart(key: ApiKeyRecord, fields: NewTaskFields, options: TaskInsertOptions = {}): Promise<Task> {
    const { parameters } = fields;
    const { idempotency } = options;
    const { price, slot } = await this.admission.begin(
      key,
      {
        operation: fields.operation,
        model: parameters.model,
        prompt: parameters.prompt,
        durationSeconds: parameters.durationSeconds,
        resolution: parameters.resolution,
        ...(options.sourceSeconds !== undefined ? { sourceSeconds: options.sourceSeconds } : {}),
        // A bridge extension is an image-to-video call upstream: it costs what that costs.
        ...(fields.extension?.method === 'bridge' ? { pricedAs: { operation: 'generate' as const, durationSeconds: GENERATION_SECONDS, resolution: '720p' as const } } : {}),
      },
      { translationRequested: options.translationRequested ?? false },
    );
    const now = this.now();
    const task: Task = {
      ...fields,
      price,
      providerHandle: null,
      upstreamOutput: null,
      state: 'queued',
      progress: 0,
      failure: null,
      result: null,
      engineDetails: null,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
    };
    try {
      await this.createsPerKey.run(key.id, () => this.storage.transactionOneAtATime(`creates:${key.id}`, async (stores) => {
        if (idempotency && !(await stores.idempotency.claim(key.id, idempotency, task.id, now, now - IDEMPOTENCY_WINDOW_MS))) {
          throw new IdempotencyKeyTaken();
        }
        await this.admission.hold(stores, key, task.id, price);
        await stores.tasks.insert(task);
        await stores.jobs.enqueue(jobRequest('task.start', { taskId: task.id }));
      }));
    } catch (error) {
      // A release that cannot be written only counts this request against the key until it leaves the window.
      await slot.release().catch(() => {});
      // A concurrent duplicate committed first: its task is the answer to both.
      const winner = error instanceof IdempotencyKeyTaken ? await this.replayed(key, idempotency) : undefined;
      if (winner) return winner;
      throw error;
    }
    return task;
  }
}
