import { randomBytes } from 'node:crypto';
import type { OutboundResponse } from '../../net/outbound-http.js';
import { ProviderError } from '../../ports/video-provider.js';
import { keyInHeader, noCredential } from '../upstream-credential.js';
import { onlyToOrigins, UpstreamHttp } from '../upstream-http.js';
import {
  type ComfyUiFile,
  type ComfyUiHistoryEntry,
  describeRefusal,
  historyEntrySchema,
  queueSchema,
  refusalSchema,
  submitAnswerSchema,
  uploadAnswerSchema,
  uploadedName,
} from './comfyui-api-types.js';
import type { WorkflowGraph } from './comfyui-workflow.js';

export interface ComfyUiClientOptions {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly maxDownloadBytes: number;
  /** Sent as `Authorization: Bearer …` when the box sits behind an authenticating proxy. */
  readonly token?: string;
}

/** How much of an error answer other than a refused graph is quoted. */
const maxQuotedErrorBytes = 1024;

/** Where a prompt is in ComfyUI's queue. */
export type QueuePlace = 'running' | 'pending' | 'absent';

/**
 * ComfyUI's HTTP API (upstream-providers.md §4.1): `POST /prompt`, `GET /history/{id}`,
 * `GET /queue`, `POST /upload/image`, `GET /view`, `POST /interrupt`, `POST /queue` delete. Every
 * call is bounded in time and size and goes only to the configured origin.
 */
export class ComfyUiClient {
  private readonly base: URL;
  private readonly http: UpstreamHttp;

  constructor(private readonly options: ComfyUiClientOptions) {
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    this.http = new UpstreamHttp({
      label: 'ComfyUI',
      // A token only when the box sits behind an authenticating proxy.
      credential: options.token ? keyInHeader('authorization', options.token, 'Bearer') : noCredential,
      mayReceiveKey: onlyToOrigins(this.base.origin),
      timeoutMs: options.timeoutMs,
      // A history entry with its prompt stays far below.
      maxAnswerBytes: 4 * 1024 * 1024,
    });
  }

  /** Queues a graph; a graph ComfyUI refuses (`node_errors`) fails for good with the nodes' own messages. */
  async submit(graph: WorkflowGraph, clientId: string, signal: AbortSignal): Promise<string> {
    const response = await this.send('POST', 'prompt', signal, { body: JSON.stringify({ prompt: graph, client_id: clientId }), contentType: 'application/json' });
    if (response.statusCode === 400) {
      const refusal = refusalSchema.safeParse(await this.http.errorBody(response));
      const text = refusal.success ? describeRefusal(refusal.data) : 'HTTP 400';
      throw new ProviderError(`ComfyUI refused the workflow: ${text}`.slice(0, 1000), false, 'generation_failed');
    }
    const answer = submitAnswerSchema.safeParse(await this.json(response));
    if (!answer.success) throw new ProviderError('ComfyUI answered POST /prompt without a prompt_id', true);
    return answer.data.prompt_id;
  }

  /** The prompt's history entry, or undefined while it has not finished. */
  async history(promptId: string, signal: AbortSignal): Promise<ComfyUiHistoryEntry | undefined> {
    const answer = await this.json(await this.send('GET', `history/${encodeURIComponent(promptId)}`, signal));
    if (typeof answer !== 'object' || answer === null) throw new ProviderError('ComfyUI answered GET /history with something that is not an object', true);
    const raw = (answer as Record<string, unknown>)[promptId];
    if (raw === undefined) return undefined;
    const entry = historyEntrySchema.safeParse(raw);
    if (!entry.success) throw new ProviderError('ComfyUI answered GET /history with an unexpected shape', true);
    return entry.data;
  }

  async queuePlace(promptId: string, signal: AbortSignal): Promise<QueuePlace> {
    const queue = queueSchema.safeParse(await this.json(await this.send('GET', 'queue', signal)));
    if (!queue.success) return 'absent';
    if (queue.data.queue_running.some((item) => item[1] === promptId)) return 'running';
    if (queue.data.queue_pending.some((item) => item[1] === promptId)) return 'pending';
    return 'absent';
  }

  /** Uploads a file into ComfyUI's `input/` folder (overwriting one of the same name); answers the name loader nodes take. */
  async upload(name: string, bytes: Buffer, mimeType: string, signal: AbortSignal): Promise<string> {
    const boundary = `----segue${randomBytes(12).toString('hex')}`;
    const field = (fieldName: string, value: string) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${fieldName}"\r\n\r\n${value}\r\n`);
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="${name}"\r\nContent-Type: ${mimeType}\r\n\r\n`),
      bytes,
      Buffer.from('\r\n'),
      field('type', 'input'),
      field('overwrite', 'true'),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    const response = await this.send('POST', 'upload/image', signal, { body, contentType: `multipart/form-data; boundary=${boundary}` });
    const answer = uploadAnswerSchema.safeParse(await this.json(response));
    if (!answer.success) throw new ProviderError('ComfyUI answered the upload without a file name', true);
    return uploadedName(answer.data);
  }

  /** Downloads an output through `GET /view`, at most `maxDownloadBytes`. */
  async download(file: ComfyUiFile, destination: string, signal: AbortSignal): Promise<void> {
    const query = new URLSearchParams({ filename: file.filename, subfolder: file.subfolder, type: file.type });
    const response = await this.send('GET', `view?${query}`, signal, { timeoutMs: this.options.timeoutMs * 5 });
    if (response.statusCode !== 200) throw await this.errorFrom(response);
    await this.http.saveVideo(response, destination, this.options.maxDownloadBytes);
  }

  /** Takes a prompt off the queue, or stops it if it is the one running (ComfyUI has no per-prompt stop). */
  async cancel(promptId: string, signal: AbortSignal): Promise<void> {
    const place = await this.queuePlace(promptId, signal);
    if (place === 'pending') (await this.send('POST', 'queue', signal, { body: JSON.stringify({ delete: [promptId] }), contentType: 'application/json' })).discard();
    if (place === 'running') (await this.send('POST', 'interrupt', signal, { body: JSON.stringify({ prompt_id: promptId }), contentType: 'application/json' })).discard();
  }

  /** The URL of an output (what the task records as its upstream copy). */
  viewUrl(file: ComfyUiFile): string {
    return new URL(`view?${new URLSearchParams({ filename: file.filename, subfolder: file.subfolder, type: file.type })}`, this.base).toString();
  }

  async close(): Promise<void> {
    this.http.close();
  }

  private send(
    method: 'GET' | 'POST',
    relative: string,
    signal: AbortSignal,
    options: { body?: string | Buffer; contentType?: string; timeoutMs?: number } = {},
  ): Promise<OutboundResponse> {
    return this.http.call({ url: new URL(relative, this.base), method, signal, ...options });
  }

  private async json(response: OutboundResponse): Promise<unknown> {
    if (response.statusCode !== 200) throw await this.errorFrom(response);
    return this.http.readJson(response);
  }

  private async errorFrom(response: OutboundResponse): Promise<ProviderError> {
    const text = await response.head(maxQuotedErrorBytes).catch(() => '');
    const detail = text.replace(/\s+/g, ' ').trim().slice(0, 300);
    return this.http.refusal(response, `ComfyUI ${response.statusCode}${detail ? ` ${detail}` : ''}`);
  }
}
