import fs from 'node:fs/promises';
import type { OutboundResponse } from '../../net/outbound-http.js';
import { ProviderError } from '../../ports/video-provider.js';
import { onlyToOrigins, UpstreamHttp } from '../upstream-http.js';
import {
  createResponseSchema,
  errorEnvelopeSchema,
  operationNamePattern,
  operationResource,
  operationSchema,
  parseGcsUri,
  type VertexCreateBody,
  type VertexOperation,
} from './vertex-api-types.js';
import { AccessTokens, type ServiceAccount } from './vertex-credentials.js';

export interface VertexClientOptions {
  readonly baseUrl: string;
  readonly storageBaseUrl: string;
  readonly project: string;
  readonly location: string;
  readonly account: ServiceAccount;
  readonly timeoutMs: number;
  readonly maxDownloadBytes: number;
  readonly now: () => number;
}

/**
 * Vertex AI and Cloud Storage over HTTP with a service account's Bearer token: create, poll
 * (`fetchPredictOperation`, a POST), inline results, GCS downloads. The token goes only to the
 * configured Vertex and Storage origins; a 401 renews it once. Messages leaving this class are
 * cleaned of tokens.
 */
export class VertexClient {
  readonly tokens: AccessTokens;
  private readonly http: UpstreamHttp;
  private readonly origin: string;
  private readonly storageOrigin: string;

  constructor(private readonly options: VertexClientOptions) {
    this.origin = new URL(options.baseUrl).origin;
    this.storageOrigin = new URL(options.storageBaseUrl).origin;
    this.http = new UpstreamHttp({
      label: 'Vertex',
      credential: {
        headers: async (signal) => ({ authorization: `Bearer ${await this.tokens.token(signal)}` }),
        secrets: () => this.tokens.secrets(),
        renew: () => this.tokens.invalidate(),
      },
      mayReceiveKey: onlyToOrigins(this.origin, this.storageOrigin),
      timeoutMs: options.timeoutMs,
      maxAnswerBytes: 1024 * 1024,
      // A token that is no longer the current one, wherever a message quotes its header.
      secretPatterns: [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g],
    });
    this.tokens = new AccessTokens({ account: options.account, outbound: this.http.pool, timeoutMs: options.timeoutMs, now: options.now });
  }

  /** Starts a long-running generation in the entry's project and location; answers the operation's name. */
  async create(model: string, body: VertexCreateBody, signal: AbortSignal): Promise<string> {
    const { project, location } = this.options;
    const path = `/v1/projects/${project}/locations/${location}/publishers/google/models/${encodeURIComponent(model)}:predictLongRunning`;
    const answer = await this.json(new URL(path, this.origin), JSON.stringify(body), signal);
    const parsed = createResponseSchema.safeParse(answer);
    if (!parsed.success) throw new ProviderError('Vertex answered the create call without an operation name', true);
    return parsed.data.name;
  }

  /**
   * Polls an operation with a POST to its model's `fetchPredictOperation` — the model and location
   * the operation names, whatever the entry says now. Inline results make large answers.
   */
  async operation(name: string, signal: AbortSignal): Promise<VertexOperation> {
    if (!operationNamePattern.test(name)) throw new ProviderError('not a Vertex operation name', false);
    const url = new URL(`/v1/${operationResource(name)}:fetchPredictOperation`, this.origin);
    const maxBytes = Math.ceil((this.options.maxDownloadBytes * 4) / 3) + 1024 * 1024;
    const parsed = operationSchema.safeParse(await this.json(url, JSON.stringify({ operationName: name }), signal, maxBytes));
    if (!parsed.success) throw new ProviderError('Vertex answered the poll with an unexpected shape', true);
    return parsed.data;
  }

  /** Reads a `gs://` object through the GCS JSON API (`alt=media`) with the same token. */
  async downloadObject(uri: string, destination: string, signal: AbortSignal): Promise<void> {
    const object = parseGcsUri(uri);
    if (!object) throw new ProviderError('not a gs:// object uri', false);
    const url = new URL(`/storage/v1/b/${encodeURIComponent(object.bucket)}/o/${encodeURIComponent(object.object)}?alt=media`, this.storageOrigin);
    const response = await this.http.call({ url, method: 'GET', signal, timeoutMs: this.options.timeoutMs * 5 });
    if (response.statusCode !== 200) throw await this.errorFrom(response, 'Cloud Storage');
    await this.http.saveVideo(response, destination, this.options.maxDownloadBytes);
  }

  /** Writes base64 bytes to a file, refusing more than a download may be. */
  async writeInline(base64: string, destination: string): Promise<void> {
    const bytes = Buffer.from(base64, 'base64');
    if (bytes.length === 0) throw new ProviderError('Vertex answered an empty video', false);
    if (bytes.length > this.options.maxDownloadBytes) throw new ProviderError(`the video is larger than ${this.options.maxDownloadBytes} bytes`, false);
    await fs.writeFile(destination, bytes);
  }

  async close(): Promise<void> {
    this.http.close();
  }

  /** Removes every token this client holds from a text that may reach a log, a record or a client. */
  scrub(text: string): string {
    return this.http.scrub(text);
  }

  private async json(url: URL, body: string, signal: AbortSignal, maxBytes?: number): Promise<unknown> {
    const response = await this.http.call({ url, method: 'POST', signal, body });
    if (response.statusCode !== 200) throw await this.errorFrom(response, 'Vertex');
    return this.http.readJson(response, maxBytes);
  }

  private async errorFrom(response: OutboundResponse, service: string): Promise<ProviderError> {
    const envelope = errorEnvelopeSchema.safeParse(await this.http.errorBody(response));
    const detail = envelope.success ? [envelope.data.error.status, envelope.data.error.message].filter(Boolean).join(': ') : `HTTP ${response.statusCode}`;
    return this.http.refusal(response, `${service} ${response.statusCode} ${detail}`);
  }
}
