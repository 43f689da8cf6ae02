import { MediaError } from '../domain/errors.js';
import { parseRetryAfter } from '../net/retry-after.js';
import { ProviderError } from '../ports/video-provider.js';
import { keyInHeader } from './upstream-credential.js';
import { httpOnly, onlyToOrigins, parseJson, retryableHttpStatuses, UpstreamHttp } from './upstream-http.js';

export interface DialectUpstreamClientOptions {
  /** How messages name the upstream ("up1 (veo-dialect)"). */
  readonly label: string;
  /** The service's base URL; every API call goes under it, with the key. */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly timeoutMs: number;
  readonly maxDownloadBytes: number;
  /** Downloads a result that is not on the configured origin (SSRF-guarded, size- and time-capped). */
  readonly fetchMedia: (url: string, destination: string, limits: { maxBytes: number; signal: AbortSignal }) => Promise<void>;
}

/** One answer of the upstream's API: its HTTP status, its JSON (undefined if it sent none), a Retry-After. */
export interface UpstreamAnswer {
  readonly statusCode: number;
  readonly json: unknown;
  readonly retryAfterMs: number | undefined;
}

/** HTTP statuses, and the envelope code 455 (busy), after which the same call may succeed later or on another entry. */
export const retryableStatuses: ReadonlySet<number> = new Set([...retryableHttpStatuses, 455]);

/**
 * JSON over bounded HTTP to a Veo-style service that takes `Authorization: Bearer <key>`: the
 * Veo dialect and the universal dialect as upstreams. The key goes only to the configured
 * origin, never in a URL, and every message that leaves this class is cleaned of it.
 */
export class DialectUpstreamClient {
  private readonly base: URL;
  private readonly http: UpstreamHttp;

  constructor(private readonly options: DialectUpstreamClientOptions) {
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    this.http = new UpstreamHttp({
      label: `the ${options.label}`,
      credential: keyInHeader('authorization', options.apiKey, 'Bearer'),
      mayReceiveKey: onlyToOrigins(this.base.origin),
      timeoutMs: options.timeoutMs,
      // A task record stays far below.
      maxAnswerBytes: 1024 * 1024,
      callHeaders: { accept: 'application/json' },
      retryableStatuses,
    });
  }

  /** Calls `path` (relative to the base URL, with its query) and reads the answer, whatever its status. */
  async call(method: 'GET' | 'POST', path: string, signal: AbortSignal, body?: unknown): Promise<UpstreamAnswer> {
    const url = new URL(path.replace(/^\//, ''), this.base);
    const response = await this.http.call({ url, method, signal, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await this.http.readText(response);
    return {
      statusCode: response.statusCode,
      json: parseJson(text),
      retryAfterMs: parseRetryAfter(response.headers['retry-after'], Date.now()) ?? undefined,
    };
  }

  /** The error for a refused call: retryable for statuses that may pass later (429, 455, 5xx). */
  refusal(status: number, detail: string, retryAfterMs?: number): ProviderError {
    const reason = status === 400 || status === 422 ? 'input_unusable' : 'generation_failed';
    return this.http.refusal({ statusCode: status, retryAfterMs }, `the ${this.options.label} answered ${status}: ${detail}`, reason);
  }

  /**
   * Copies a finished video into `destination`, without the key. A link on the configured origin
   * is read directly (the operator named that host); any other goes through the guarded fetch.
   */
  async download(uri: string, destination: string, signal: AbortSignal): Promise<void> {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new ProviderError(`the ${this.options.label} gave a result link that is not a URL`, false);
    }
    await this.http.download(url, destination, signal, {
      timeoutMs: this.options.timeoutMs * 5,
      maxBytes: this.options.maxDownloadBytes,
      withKey: false,
      checkHop: httpOnly(`the ${this.options.label} gave a result link that is not http(s)`),
      refused: (response) => {
        response.discard();
        return new ProviderError(`the ${this.options.label}'s result link answered ${response.statusCode}`, retryableStatuses.has(response.statusCode));
      },
      elsewhere: { when: (link) => link.origin !== this.base.origin, fetch: (link) => this.fetchElsewhere(link, destination, signal) },
    });
  }

  /** Removes the key from any text that may reach a log, a task record or a client. */
  scrub(text: string): string {
    return this.http.scrub(text);
  }

  async close(): Promise<void> {
    this.http.close();
  }

  /** A link elsewhere may fail for a moment (a CDN); the ingest job's attempts bound the retries. */
  private async fetchElsewhere(url: URL, destination: string, signal: AbortSignal): Promise<void> {
    try {
      await this.options.fetchMedia(url.href, destination, { maxBytes: this.options.maxDownloadBytes, signal });
    } catch (error) {
      if (error instanceof MediaError) throw new ProviderError(this.scrub(`the result could not be fetched: ${error.message}`), true);
      throw this.http.failure(error);
    }
  }
}
