import fs from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, type Dispatcher, request } from 'undici';
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
}

const maxRedirects = 5;
/** HTTP answers after which the same call may succeed later (or on another entry). */
const retryableStatuses = new Set([408, 429, 500, 502, 503, 504]);

/**
 * The Gemini API over HTTP: create, poll, download. The key travels only in the
 * `x-goog-api-key` header and only to the configured origin (never in a URL, never to a
 * redirect target elsewhere), and every message that leaves this class is cleaned of it.
 */
export class GeminiClient {
  private readonly origin: string;
  private readonly agent: Dispatcher;

  constructor(private readonly options: GeminiClientOptions) {
    this.origin = new URL(options.baseUrl).origin;
    this.agent = new Agent({ keepAliveTimeout: 30_000, connections: 128 });
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
    const timed = AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs * 5)]);
    for (let hop = 0; hop <= maxRedirects; hop++) {
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ProviderError('the download redirected to a non-http URL', false);
      const headers: Record<string, string> = url.origin === this.origin ? { 'x-goog-api-key': this.options.apiKey } : {};
      const response = await this.send(url, { method: 'GET', headers, signal: timed });
      const location = response.headers.location;
      if (response.statusCode >= 300 && response.statusCode < 400 && location) {
        await response.body.dump();
        url = new URL(String(location), url);
        continue;
      }
      if (response.statusCode !== 200) throw await this.errorFrom(response.statusCode, response.headers, await response.body.text());
      let bytes = 0;
      const limit = this.options.maxDownloadBytes;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          done(bytes > limit ? new ProviderError(`the video is larger than ${limit} bytes`, false) : null, chunk);
        },
      });
      await pipeline(response.body, counter, fs.createWriteStream(destination));
      return;
    }
    throw new ProviderError('the download redirected too many times', true);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Removes the key from any text that may reach a log, a task record or a client. */
  scrub(text: string): string {
    return text.split(this.options.apiKey).join('[redacted]').replace(/([?&]key=)[^&\s"]+/g, '$1[redacted]');
  }

  private async call(method: 'GET' | 'POST', path: string, signal: AbortSignal, body?: string): Promise<unknown> {
    const response = await this.send(new URL(path, this.origin), {
      method,
      headers: { 'x-goog-api-key': this.options.apiKey, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body } : {}),
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw await this.errorFrom(response.statusCode, response.headers, text);
    try {
      return JSON.parse(text);
    } catch {
      throw new ProviderError('Gemini answered with something that is not JSON', true);
    }
  }

  private async send(url: URL, options: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; signal: AbortSignal }) {
    try {
      return await request(url, { ...options, dispatcher: this.agent });
    } catch (error) {
      if (options.signal.aborted && !(options.signal.reason instanceof DOMException)) throw error;
      // The network failed or the call timed out: worth trying again (polls are harmless to repeat).
      throw new ProviderError(`Gemini could not be reached: ${this.scrub((error as Error).message)}`, true);
    }
  }

  private async errorFrom(statusCode: number, headers: Record<string, string | string[] | undefined>, text: string): Promise<ProviderError> {
    const envelope = errorEnvelopeSchema.safeParse(safeJson(text));
    const detail = envelope.success ? [envelope.data.error.status, envelope.data.error.message].filter(Boolean).join(': ') : `HTTP ${statusCode}`;
    const retryAfterSeconds = Number(headers['retry-after']);
    return new ProviderError(
      this.scrub(`Gemini ${statusCode} ${detail}`.slice(0, 500)),
      retryableStatuses.has(statusCode),
      'generation_failed',
      Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0 ? retryAfterSeconds * 1000 : undefined,
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
