import { ProviderError } from '../../ports/video-provider.js';
import { keyInHeader } from '../upstream-credential.js';
import { httpOnly, onlyToOrigins, UpstreamHttp } from '../upstream-http.js';
import type { OutboundResponse } from '../../net/outbound-http.js';
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

/**
 * The Gemini API over HTTP: create, poll, download. The key travels only in the
 * `x-goog-api-key` header and only to the configured origin (never in a URL, never to a
 * redirect target elsewhere), and every message that leaves this class is cleaned of it.
 */
export class GeminiClient {
  private readonly origin: string;
  private readonly http: UpstreamHttp;

  constructor(private readonly options: GeminiClientOptions) {
    this.origin = new URL(options.baseUrl).origin;
    this.http = new UpstreamHttp({
      label: 'Gemini',
      credential: keyInHeader('x-goog-api-key', options.apiKey),
      mayReceiveKey: onlyToOrigins(this.origin),
      timeoutMs: options.timeoutMs,
      stallTimeoutMs: options.stallTimeoutMs,
      maxHeaderBytes: options.maxHeaderBytes,
      // An operation with inline results stays far below.
      maxAnswerBytes: 1024 * 1024,
      // A key that found its way into a link's query.
      secretPatterns: [/([?&]key=)[^&\s"]+/g],
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
    const url = new URL(uri);
    if (url.origin !== this.origin) throw new ProviderError('the video uri is not on the configured Gemini origin', false);
    await this.http.download(url, destination, signal, {
      timeoutMs: this.options.timeoutMs * 5,
      maxBytes: this.options.maxDownloadBytes,
      withKey: true,
      checkHop: httpOnly('the download redirected to a non-http URL'),
      refused: (response) => this.errorFrom(response),
    });
  }

  /** Closes the pooled connections. */
  async close(): Promise<void> {
    this.http.close();
  }

  /** Removes the key from any text that may reach a log, a task record or a client. */
  scrub(text: string): string {
    return this.http.scrub(text);
  }

  private async call(method: 'GET' | 'POST', path: string, signal: AbortSignal, body?: string): Promise<unknown> {
    const response = await this.http.call({ url: new URL(path, this.origin), method, signal, ...(body ? { body } : {}) });
    if (response.statusCode !== 200) throw await this.errorFrom(response);
    return this.http.readJson(response);
  }

  private async errorFrom(response: OutboundResponse): Promise<ProviderError> {
    const envelope = errorEnvelopeSchema.safeParse(await this.http.errorBody(response));
    const detail = envelope.success ? [envelope.data.error.status, envelope.data.error.message].filter(Boolean).join(': ') : `HTTP ${response.statusCode}`;
    return this.http.refusal(response, `Gemini ${response.statusCode} ${detail}`);
  }
}
