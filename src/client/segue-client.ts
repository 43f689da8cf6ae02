import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimitError, SegueError, TaskFailedError, ValidationError } from './client-errors.js';
import { ClientTransport, isTransient } from './client-transport.js';
import { parseTaskView } from './task-view-parser.js';
import type { SegueTask } from './task-view.js';

export interface SegueClientOptions {
  /** Where Segue answers, e.g. `http://127.0.0.1:8080` or `https://videos.example.com`. */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** A fetch to use instead of the global one (e.g. one with a proxy or a custom CA). */
  readonly fetch?: typeof fetch;
  /** How many times a create is sent again after a network error, a 5xx or a 429 (default 3). */
  readonly maxRetries?: number;
}

interface CreateOptions {
  /** An integer (the Veo dialect takes 10000–99999); the same seed and request give the same video. */
  readonly seed?: number;
  /** Sent as `Idempotency-Key`; a random UUID when absent. Give your own to make a retry across restarts safe. */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

export interface GenerateOptions extends CreateOptions {
  readonly prompt: string;
  /** `veo3` (quality), `veo3_fast` (the default) or `veo3_lite`. */
  readonly model?: 'veo3' | 'veo3_fast' | 'veo3_lite';
  readonly aspectRatio?: '16:9' | '9:16' | 'Auto';
  /** One image (the video unfolds from it) or two (first and last frame): URLs or `data:` URIs. */
  readonly imageUrls?: readonly string[];
  /** Where Segue POSTs the signed callback when the task ends. */
  readonly callBackUrl?: string;
  /** Text drawn small in the corner. */
  readonly watermark?: string;
}

/** What to extend: a task of this key, a video link, or a local MP4 (a path or its bytes). */
export type ExtendSource = { readonly taskId: string } | { readonly videoUrl: string } | { readonly file: string | Buffer };

/** Extending a link or a file (the universal dialect) takes no callback and no watermark. */
export interface VideoExtendOptions extends CreateOptions {
  readonly prompt: string;
  /** `fast` or `quality`: by default the source task's model (a task) or `fast` (a link or a file). */
  readonly model?: 'fast' | 'quality';
}

export interface ExtendOptions extends VideoExtendOptions {
  readonly callBackUrl?: string;
  readonly watermark?: string;
}

export interface WaitOptions {
  /** Called with the task on the first look and whenever its status or progress changes. */
  readonly onProgress?: (task: SegueTask) => void;
  /** Stops waiting: `waitFor` rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** The first pause between looks (default 2000); it doubles up to `maxIntervalMs` (default 15000). */
  readonly intervalMs?: number;
  readonly maxIntervalMs?: number;
  /** Gives up after this long, rejecting with a `TimeoutError` DOMException. */
  readonly timeoutMs?: number;
}

/** One page of `list`: `next` is the `after` of the following page, null on the last one. */
export interface TaskPage {
  readonly tasks: SegueTask[];
  readonly next: string | null;
}

const extendModelIds = { fast: 'google/veo3-1-fast-extend-video', quality: 'google/veo3-1-extend-video' } as const;

/** Fields left out when undefined, as JSON.stringify does, but also for `null`. */
const defined = (fields: Record<string, unknown>) => Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== null));

/**
 * A client of one Segue server: creates (with an automatic `Idempotency-Key` and safe retries),
 * reads, waits and downloads. Errors are `SegueError` subclasses carrying the dialect's code.
 */
export class SegueClient {
  private readonly transport: ClientTransport;
  private readonly fetch: typeof fetch;

  constructor(options: SegueClientOptions) {
    const baseUrl = new URL(options.baseUrl).href.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch;
    this.transport = new ClientTransport({ baseUrl, apiKey: options.apiKey, fetch: this.fetch, maxRetries: options.maxRetries ?? 3 });
  }

  /** Starts a generation (`POST /api/v1/veo/generate`); resolves with the task id. */
  async generate(options: GenerateOptions): Promise<string> {
    const body = defined({
      prompt: options.prompt,
      model: options.model,
      aspectRatio: options.aspectRatio,
      imageUrls: options.imageUrls,
      seeds: options.seed,
      callBackUrl: options.callBackUrl,
      watermark: options.watermark,
    });
    const created = await this.transport.create<{ taskId: string }>(
      { dialect: 'veo', method: 'POST', path: '/api/v1/veo/generate', body, signal: options.signal },
      options.idempotencyKey ?? randomUUID(),
    );
    return created.taskId;
  }

  /**
   * Extends a video by 7 s; resolves with the new task id. A task id goes through the Veo
   * dialect (`POST /api/v1/veo/extend`); a link or a file through the universal one
   * (`google/veo3-1-extend-video` or `-fast-`, the file sent as a `data:video/mp4` URI).
   */
  extend(source: { readonly taskId: string }, options: ExtendOptions): Promise<string>;
  extend(source: { readonly videoUrl: string } | { readonly file: string | Buffer }, options: VideoExtendOptions): Promise<string>;
  async extend(source: ExtendSource, options: ExtendOptions): Promise<string> {
    const idempotencyKey = options.idempotencyKey ?? randomUUID();
    if ('taskId' in source) {
      const body = defined({
        taskId: source.taskId,
        prompt: options.prompt,
        model: options.model,
        seeds: options.seed,
        callBackUrl: options.callBackUrl,
        watermark: options.watermark,
      });
      const created = await this.transport.create<{ taskId: string }>(
        { dialect: 'veo', method: 'POST', path: '/api/v1/veo/extend', body, signal: options.signal },
        idempotencyKey,
      );
      return created.taskId;
    }
    if (options.callBackUrl || options.watermark) {
      throw new TypeError('callBackUrl and watermark are only available when extending a task id');
    }
    const videoUrl = 'videoUrl' in source ? source.videoUrl : await dataUri(source.file);
    const body = defined({ model: extendModelIds[options.model ?? 'fast'], prompt: options.prompt, video_url: videoUrl, seed: options.seed });
    const created = await this.transport.create<{ id: string }>(
      { dialect: 'universal', method: 'POST', path: '/v2/video/generations', body, signal: options.signal },
      idempotencyKey,
    );
    return created.id;
  }

  /** The task as it is now (`GET /api/v1/tasks/:id`). */
  async get(id: string, options: { readonly signal?: AbortSignal } = {}): Promise<SegueTask> {
    const data = await this.transport.send({ dialect: 'veo', method: 'GET', path: `/api/v1/tasks/${encodeURIComponent(id)}`, signal: options.signal });
    return parseTaskView(data);
  }

  /** The key's own tasks, newest first (`GET /api/v1/tasks`); `after` is the previous page's `next`. */
  async list(options: { readonly limit?: number; readonly after?: string; readonly signal?: AbortSignal } = {}): Promise<TaskPage> {
    const query = new URLSearchParams(defined({ limit: options.limit?.toString(), after: options.after }) as Record<string, string>);
    const path = `/api/v1/tasks${query.size > 0 ? `?${query}` : ''}`;
    const data = await this.transport.send<{ tasks: unknown[]; next: string | null }>({ dialect: 'veo', method: 'GET', path, signal: options.signal });
    return { tasks: data.tasks.map(parseTaskView), next: data.next };
  }

  /**
   * Polls until the task ends, with pauses that double from `intervalMs` up to `maxIntervalMs`
   * (a 429's `Retry-After` is honoured; network errors and 5xx are waited through). Resolves
   * with the succeeded task; rejects with `TaskFailedError` if it failed.
   */
  async waitFor(id: string, options: WaitOptions = {}): Promise<SegueTask> {
    const signals = [options.signal, options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs)].filter((signal) => signal !== undefined);
    const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
    const maxInterval = options.maxIntervalMs ?? 15_000;
    let interval = Math.min(options.intervalMs ?? 2000, maxInterval);
    let seen: string | undefined;
    for (;;) {
      signal?.throwIfAborted();
      let pause = interval;
      const task = await this.get(id, signal ? { signal } : {}).catch((error: unknown) => {
        if (signal?.aborted || !isTransient(error)) throw error;
        if (error instanceof RateLimitError && error.retryAfterSeconds !== null) pause = Math.max(pause, error.retryAfterSeconds * 1000);
        return undefined;
      });
      if (task) {
        const now = `${task.status} ${task.progress}`;
        if (now !== seen) options.onProgress?.(task);
        seen = now;
        if (task.status === 'succeeded') return task;
        if (task.status === 'failed') throw new TaskFailedError(task);
      }
      await sleep(pause, undefined, signal ? { signal } : {});
      interval = Math.min(interval * 2, maxInterval);
    }
  }

  /**
   * Streams the task's whole video to `destination`, through a temporary file beside it that is
   * renamed into place once complete (a reader never sees half a file).
   */
  async download(id: string, destination: string, options: { readonly signal?: AbortSignal } = {}): Promise<{ path: string; bytes: number }> {
    const task = await this.get(id, options);
    if (task.status === 'failed') throw new TaskFailedError(task);
    if (!task.videoUrl) throw new ValidationError(`record status is not success: task ${id} is ${task.status}`, 422);
    const response = await this.fetch(task.videoUrl, options.signal ? { signal: options.signal } : {});
    if (response.status !== 200 || !response.body) {
      await response.body?.cancel();
      throw new SegueError(`the video link answered HTTP ${response.status}`, response.status);
    }
    const target = path.resolve(destination);
    const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.part`);
    try {
      await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), createWriteStream(temporary, { flags: 'wx' }));
      const { size } = await fs.stat(temporary);
      await fs.rename(temporary, target);
      return { path: target, bytes: size };
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw error;
    }
  }

  /** The key's balance in credits (`GET /api/v1/chat/credit`). */
  async credits(options: { readonly signal?: AbortSignal } = {}): Promise<number> {
    return this.transport.send<number>({ dialect: 'veo', method: 'GET', path: '/api/v1/chat/credit', signal: options.signal });
  }
}

async function dataUri(file: string | Buffer): Promise<string> {
  const bytes = typeof file === 'string' ? await fs.readFile(file) : file;
  return `data:video/mp4;base64,${bytes.toString('base64')}`;
}
