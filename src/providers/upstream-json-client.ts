import { parseRetryAfter } from '../net/retry-after.js';
import { MediaError } from '../domain/errors.js';
import { OutboundError, OutboundHttp, type OutboundResponse } from '../net/outbound-http.js';
import { ProviderError } from '../ports/video-provider.js';

export interface UpstreamJsonClientOptions {
  /** How messages name the upstream ("veo-dialect upstream"). */
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

/** The largest JSON answer read (a task record stays far below). */
const maxAnswerBytes = 1024 * 1024;
const maxRedirects = 5;
/** HTTP statuses (or envelope codes) after which the same call may succeed later or on another entry. */
export const retryableStatuses: ReadonlySet<number> = new Set([408, 429, 455, 500, 502, 503, 504]);

/**
 * JSON over bounded HTTP to a Veo-style service that takes `Authorization: Bearer <key>`: the
 * Veo dialect and the universal dialect as upstreams. The key goes only to the configured
 * origin, never in a URL, and every message that leaves this class is cleaned of it.
 */
export class UpstreamJsonClient {
  private readonly base: URL;
  private readonly outbound = new OutboundHttp({ keepAliveMs: 30_000 });

  constructor(private readonly options: UpstreamJsonClientOptions) {
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  }

  /** Calls `path` (relative to the base URL, with its query) and reads the answer, whatever its status. */
  async call(method: 'GET' | 'POST', path: string, signal: AbortSignal, body?: unknown): Promise<UpstreamAnswer> {
    const url = new URL(path.replace(/^\//, ''), this.base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = { authorization: `Bearer ${this.options.apiKey}`, accept: 'application/json', ...(payload ? { 'content-type': 'application/json' } : {}) };
    let response: OutboundResponse;
    try {
      response = await this.outbound.request({ url, method, headers, signal, timeoutMs: this.options.timeoutMs, stallTimeoutMs: this.options.timeoutMs, ...(payload ? { body: payload } : {}) });
    } catch (error) {
      throw this.failure(error);
    }
    let text: string;
    try {
      text = await response.text(maxAnswerBytes);
    } catch (error) {
      if (error instanceof OutboundError && error.failure === 'too_large') throw new ProviderError(`the ${this.options.label} answered with more than ${maxAnswerBytes} bytes`, true);
      throw this.failure(error);
    }
    return {
      statusCode: response.statusCode,
      json: safeJson(text),
      retryAfterMs: parseRetryAfter(response.headers['retry-after'], Date.now()) ?? undefined,
    };
  }

  /** The error for a refused call: retryable for statuses that may pass later (429, 5xx). */
  refusal(status: number, detail: string, retryAfterMs?: number): ProviderError {
    const reason = status === 400 || status === 422 ? 'input_unusable' : 'generation_failed';
    return new ProviderError(this.scrub(`the ${this.options.label} answered ${status}: ${detail}`.slice(0, 500)), retryableStatuses.has(status), reason, retryAfterMs);
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
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ProviderError(`the ${this.options.label} gave a result link that is not http(s)`, false);
    if (url.origin !== this.base.origin) {
      try {
        await this.options.fetchMedia(url.href, destination, { maxBytes: this.options.maxDownloadBytes, signal });
        return;
      } catch (error) {
        // A link elsewhere may fail for a moment (a CDN); the ingest job's attempts bound the retries.
        if (error instanceof MediaError) throw new ProviderError(this.scrub(`the result could not be fetched: ${error.message}`), true);
        throw this.failure(error);
      }
    }
    const deadline = Date.now() + this.options.timeoutMs * 5;
    for (let hop = 0; hop <= maxRedirects; hop++) {
      let response: OutboundResponse;
      const budget = Math.max(1, deadline - Date.now());
      try {
        response = await this.outbound.request({ url, method: 'GET', signal, timeoutMs: budget, stallTimeoutMs: Math.min(this.options.timeoutMs, budget) });
      } catch (error) {
        throw this.failure(error);
      }
      const location = response.headers.location;
      if (response.statusCode >= 300 && response.statusCode < 400 && location) {
        response.discard();
        const next = new URL(location, url);
        if (next.origin !== this.base.origin) return this.download(next.href, destination, signal);
        url = next;
        continue;
      }
      if (response.statusCode !== 200) {
        response.discard();
        throw new ProviderError(`the ${this.options.label}'s result link answered ${response.statusCode}`, retryableStatuses.has(response.statusCode));
      }
      try {
        await response.toFile(destination, this.options.maxDownloadBytes);
      } catch (error) {
        if (error instanceof OutboundError && error.failure === 'too_large') throw new ProviderError(`the video is larger than ${this.options.maxDownloadBytes} bytes`, false);
        throw this.failure(error);
      }
      return;
    }
    throw new ProviderError('the download redirected too many times', true);
  }

  /** Removes the key from any text that may reach a log, a task record or a client. */
  scrub(text: string): string {
    return text.split(this.options.apiKey).join('[redacted]');
  }

  async close(): Promise<void> {
    this.outbound.close();
  }

  /** Trouble on the way (network, timeouts) is worth trying again; local trouble and the caller's abort pass through. */
  private failure(error: unknown): unknown {
    if (!(error instanceof OutboundError) && !(error instanceof DOMException)) return error;
    return new ProviderError(`the ${this.options.label} could not be reached: ${this.scrub(error.message)}`, true);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
