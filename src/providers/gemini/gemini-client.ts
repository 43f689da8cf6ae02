import { parseRetryAfter } from '../../net/retry-after.js';
import { OutboundError, OutboundHttp, type OutboundResponse } from '../../net/outbound-http.js';
import { ProviderError } from '../../ports/video-provider.js';
import {
  createResponseSchema,
  errorEnvelopeSchema,
  type GeminiCreateBody,
  type GeminiOperation,
  operationNamePattern,
  operationSchema,
} from './gemini-api-types.js';

export interface GeminiClientOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly timeoutMs: number;
  readonly maxDownloadBytes: number;
  /** The longest wait for the next byte Gemini owes; default `timeoutMs`. */
  readonly stallTimeoutMs?: number;
  /** Largest response head accepted; default 64 KiB. */
  readonly maxHeaderBytes?: number;
}

const maxRedirects = 5;
/** The largest JSON answer read (an operation with inline results stays far below). */
const maxAnswerBytes = 1024 * 1024;
/** How much of an error answer is read to explain it. */
const maxErrorBytes = 64 * 1024;
/** HTTP answers after which the same call may succeed later (or on another entry). */
const retryableStatuses = new Set([408, 429, 500, 502, 503, 504]);

/**
 * The Gemini API over HTTP: create, poll, download. The key travels only in the
 * `x-goog-api-key` header and only to the configured origin (never in a URL, never to a
 * redirect target elsewhere), and every message that leaves this class is cleaned of it.
 */
export class GeminiClient {
  private readonly origin: string;
  private readonly outbound: OutboundHttp;

  constructor(private readonly options: GeminiClientOptions) {
    this.origin = new URL(options.baseUrl).origin;
    this.outbound = new OutboundHttp({
      keepAliveMs: 30_000,
      ...(options.maxHeaderBytes ? { maxHeaderBytes: options.maxHeaderBytes } : {}),
    });
  }

  /** Starts a long-running generation; answers the operation's name. */
  async create(model: string, body: GeminiCreateBody, signal: AbortSignal): Promise<string> {
    const path = `/v1beta/models/${encodeURIComponent(model)}:predictLongRunning`;
    const json = await this.call('POST', path, signal, JSON.stringify(body));
    const parsed = createResponseSchema.safeParse(json);
    if (!parsed.success) throw new ProviderError('Gemini answered the create call without an operation name', true);
    return parsed.data.name;
  }

  async operation(name: string, signal: AbortSignal): Promise<GeminiOperation> {
    if (!operationNamePattern.test(name)) throw new ProviderError('not a Gemini operation name', false);
    const parsed = operationSchema.safeParse(await this.call('GET', `/v1beta/${name}`, signal));
    if (!parsed.success) throw new ProviderError('Gemini answered the poll with an unexpected shape', true);
    return parsed.data;
  }

  /** Downloads a file the API made, following redirects; the key goes only to the API's own origin. */
  async download(uri: string, destination: string, signal: AbortSignal): Promise<void> {
    let url = new URL(uri);
    if (url.origin !== this.origin) throw new ProviderError('the video uri is not on the configured Gemini origin', false);
    const deadline = Date.now() + this.options.timeoutMs * 5;
    for (let hop = 0; hop <= maxRedirects; hop++) {
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ProviderError('the download redirected to a non-http URL', false);
      const headers: Record<string, string> = url.origin === this.origin ? { 'x-goog-api-key': this.options.apiKey } : {};
      const response = await this.send(url, 'GET', headers, signal, deadline - Date.now());
      const location = response.headers.location;
      if (response.statusCode >= 300 && response.statusCode < 400 && location) {
        response.discard();
        url = new URL(location, url);
        continue;
      }
      if (response.statusCode !== 200) throw await this.errorFrom(response);
      const limit = this.options.maxDownloadBytes;
      await this.read(() => response.toFile(destination, limit), `the video is larger than ${limit} bytes`, false);
      return;
    }
    throw new ProviderError('the download redirected too many times', true);
  }

  /** Closes the pooled connections. */
  async close(): Promise<void> {
    this.outbound.close();
  }

  /** Removes the key from any text that may reach a log, a task record or a client. */
  scrub(text: string): string {
    return text.split(this.options.apiKey).join('[redacted]').replace(/([?&]key=)[^&\s"]+/g, '$1[redacted]');
  }

  private async call(method: 'GET' | 'POST', path: string, signal: AbortSignal, body?: string): Promise<unknown> {
    const headers = { 'x-goog-api-key': this.options.apiKey, ...(body ? { 'content-type': 'application/json' } : {}) };
    const response = await this.send(new URL(path, this.origin), method, headers, signal, this.options.timeoutMs, body);
    if (response.statusCode !== 200) throw await this.errorFrom(response);
    const text = await this.read(() => response.text(maxAnswerBytes), `Gemini answered with more than ${maxAnswerBytes} bytes`, true);
    try {
      return JSON.parse(text);
    } catch {
      throw new ProviderError('Gemini answered with something that is not JSON', true);
    }
  }

  /** Sends one request within `timeoutMs` (never less than 1 ms); failures become ProviderErrors. */
  private async send(url: URL, method: 'GET' | 'POST', headers: Record<string, string>, signal: AbortSignal, timeoutMs: number, body?: string): Promise<OutboundResponse> {
    const budget = Math.max(1, timeoutMs);
    const stallTimeoutMs = Math.min(this.options.stallTimeoutMs ?? this.options.timeoutMs, budget);
    try {
      return await this.outbound.request({ url, method, headers, signal, timeoutMs: budget, stallTimeoutMs, ...(body ? { body } : {}) });
    } catch (error) {
      throw this.failure(error);
    }
  }

  /** Reads a body; a body over its cap fails with `tooLarge`, anything else as the network would. */
  private async read<T>(reading: () => Promise<T>, tooLarge: string, isRetryable: boolean): Promise<T> {
    try {
      return await reading();
    } catch (error) {
      if (error instanceof OutboundError && error.failure === 'too_large') throw new ProviderError(tooLarge, isRetryable);
      throw this.failure(error);
    }
  }

  /**
   * Trouble on the way to Gemini (or a timeout of the caller's) is worth trying again: polls are
   * harmless to repeat. Local trouble (the disk) and the caller's own abort pass through.
   */
  private failure(error: unknown): unknown {
    if (!(error instanceof OutboundError) && !(error instanceof DOMException)) return error;
    return new ProviderError(`Gemini could not be reached: ${this.scrub(error.message)}`, true);
  }

  private async errorFrom(response: OutboundResponse): Promise<ProviderError> {
    const { statusCode, headers } = response;
    // A body that breaks off still leaves the status to explain the failure.
    const text = await response.head(maxErrorBytes).catch(() => '');
    const envelope = errorEnvelopeSchema.safeParse(safeJson(text));
    const detail = envelope.success ? [envelope.data.error.status, envelope.data.error.message].filter(Boolean).join(': ') : `HTTP ${statusCode}`;
    return new ProviderError(
      this.scrub(`Gemini ${statusCode} ${detail}`.slice(0, 500)),
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
