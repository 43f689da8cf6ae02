import { parseRetryAfter } from '../../net/retry-after.js';
import fs from 'node:fs/promises';
import { OutboundError, OutboundHttp, type OutboundResponse } from '../../net/outbound-http.js';
import { ProviderError } from '../../ports/video-provider.js';
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

/** How much of an error answer is read to explain it. */
const maxErrorBytes = 64 * 1024;
/** HTTP answers after which the same call may succeed later (or on another entry). */
const retryableStatuses = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Vertex AI and Cloud Storage over HTTP with a service account's Bearer token: create, poll
 * (`fetchPredictOperation`, a POST), inline results, GCS downloads. The token goes only to the
 * configured Vertex and Storage origins; a 401 renews it once. Messages leaving this class are
 * cleaned of tokens.
 */
export class VertexClient {
  readonly tokens: AccessTokens;
  private readonly outbound = new OutboundHttp({ keepAliveMs: 30_000 });
  private readonly origin: string;
  private readonly storageOrigin: string;

  constructor(private readonly options: VertexClientOptions) {
    this.origin = new URL(options.baseUrl).origin;
    this.storageOrigin = new URL(options.storageBaseUrl).origin;
    this.tokens = new AccessTokens({ account: options.account, outbound: this.outbound, timeoutMs: options.timeoutMs, now: options.now });
  }

  /** Starts a long-running generation in the entry's project and location; answers the operation's name. */
  async create(model: string, body: VertexCreateBody, signal: AbortSignal): Promise<string> {
    const { project, location } = this.options;
    const path = `/v1/projects/${project}/locations/${location}/publishers/google/models/${encodeURIComponent(model)}:predictLongRunning`;
    const answer = await this.json(new URL(path, this.origin), JSON.stringify(body), signal, 1024 * 1024);
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
    const response = await this.authorised(url, 'GET', undefined, signal, this.options.timeoutMs * 5);
    if (response.statusCode !== 200) throw await this.errorFrom(response, 'Cloud Storage');
    const limit = this.options.maxDownloadBytes;
    await this.read(() => response.toFile(destination, limit), `the video is larger than ${limit} bytes`, false);
  }

  /** Writes base64 bytes to a file, refusing more than a download may be. */
  async writeInline(base64: string, destination: string): Promise<void> {
    const bytes = Buffer.from(base64, 'base64');
    if (bytes.length === 0) throw new ProviderError('Vertex answered an empty video', false);
    if (bytes.length > this.options.maxDownloadBytes) throw new ProviderError(`the video is larger than ${this.options.maxDownloadBytes} bytes`, false);
    await fs.writeFile(destination, bytes);
  }

  async close(): Promise<void> {
    this.outbound.close();
  }

  /** Removes every token this client holds from a text that may reach a log, a record or a client. */
  scrub(text: string): string {
    let clean = text;
    for (const secret of this.tokens.secrets()) clean = clean.split(secret).join('[redacted]');
    return clean.replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1[redacted]');
  }

  private async json(url: URL, body: string, signal: AbortSignal, maxBytes: number): Promise<unknown> {
    const response = await this.authorised(url, 'POST', body, signal, this.options.timeoutMs);
    if (response.statusCode !== 200) throw await this.errorFrom(response, 'Vertex');
    const text = await this.read(() => response.text(maxBytes), `Vertex answered with more than ${maxBytes} bytes`, true);
    try {
      return JSON.parse(text);
    } catch {
      throw new ProviderError('Vertex answered with something that is not JSON', true);
    }
  }

  /** One call with the Bearer token; a 401 renews the token and tries once more. */
  private async authorised(url: URL, method: 'GET' | 'POST', body: string | undefined, signal: AbortSignal, timeoutMs: number): Promise<OutboundResponse> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.tokens.token(signal);
      const headers = { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) };
      let response: OutboundResponse;
      try {
        response = await this.outbound.request({ url, method, headers, signal, timeoutMs, stallTimeoutMs: this.options.timeoutMs, ...(body ? { body } : {}) });
      } catch (error) {
        throw this.failure(error);
      }
      if (response.statusCode !== 401 || attempt > 0) return response;
      response.discard();
      this.tokens.invalidate();
    }
  }

  private async read<T>(reading: () => Promise<T>, tooLarge: string, isRetryable: boolean): Promise<T> {
    try {
      return await reading();
    } catch (error) {
      if (error instanceof OutboundError && error.failure === 'too_large') throw new ProviderError(tooLarge, isRetryable);
      throw this.failure(error);
    }
  }

  private failure(error: unknown): unknown {
    if (!(error instanceof OutboundError) && !(error instanceof DOMException)) return error;
    return new ProviderError(`Vertex could not be reached: ${this.scrub(error.message)}`, true);
  }

  private async errorFrom(response: OutboundResponse, service: string): Promise<ProviderError> {
    const { statusCode, headers } = response;
    const text = await response.head(maxErrorBytes).catch(() => '');
    const envelope = errorEnvelopeSchema.safeParse(safeJson(text));
    const detail = envelope.success ? [envelope.data.error.status, envelope.data.error.message].filter(Boolean).join(': ') : `HTTP ${statusCode}`;
    return new ProviderError(
      this.scrub(`${service} ${statusCode} ${detail}`.slice(0, 500)),
      retryableStatuses.has(statusCode),
      'generation_failed',
      parseRetryAfter(headers['retry-after'], Date.now()) ?? undefined,
    );
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
