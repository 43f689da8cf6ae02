import type { IncomingHttpHeaders } from 'node:http';
import type { FailureReason } from '../domain/task.js';
import { OutboundError, OutboundHttp, type OutboundResponse } from '../net/outbound-http.js';
import { parseRetryAfter } from '../net/retry-after.js';
import { ProviderError } from '../ports/video-provider.js';
import type { UpstreamCredential } from './upstream-credential.js';

/** What tells one upstream kind from another on the wire; everything else is the same for all. */
export interface UpstreamHttpOptions {
  /** How messages name the upstream: "Gemini", "fal", "the up1 (veo-dialect)". */
  readonly label: string;
  readonly credential: UpstreamCredential;
  /** Whether a URL may receive the credential: the configured origin(s) and nothing else. */
  readonly mayReceiveKey: (url: URL) => boolean;
  /** The whole exchange of one call (a download is given a budget of its own). */
  readonly timeoutMs: number;
  /** The longest wait for the next byte the upstream owes; default `timeoutMs`. */
  readonly stallTimeoutMs?: number | undefined;
  /** The largest response head accepted; default outbound-http's 64 KiB. */
  readonly maxHeaderBytes?: number | undefined;
  /** The largest JSON answer read, unless a call says otherwise. */
  readonly maxAnswerBytes: number;
  /** Headers every call with the credential carries besides it (`accept: application/json`). */
  readonly callHeaders?: Readonly<Record<string, string>>;
  /** Statuses (or envelope codes) after which the same call may pass later; default {@link retryableHttpStatuses}. */
  readonly retryableStatuses?: ReadonlySet<number>;
  /** Other shapes a secret takes in a text (a `?key=` parameter): the first group is kept, the rest redacted. */
  readonly secretPatterns?: readonly RegExp[];
}

export interface UpstreamRequest {
  readonly url: URL;
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly signal: AbortSignal;
  readonly body?: string | Buffer;
  /** The body's type; default `application/json`. */
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Default: the options' `timeoutMs`. */
  readonly timeoutMs?: number;
}

/** A refused call: its status (or envelope code), and the wait the upstream asked for (given, or its Retry-After header). */
export interface Refused {
  readonly statusCode: number;
  readonly headers?: IncomingHttpHeaders;
  readonly retryAfterMs?: number | undefined;
}

/** How a result link is downloaded. */
export interface DownloadRules {
  /** For the first request and every redirect together. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** Whether hops that may receive the credential get it (false: the link is fetched bare). */
  readonly withKey: boolean;
  /** Refuses a hop before it is asked (a link that is not http(s)). */
  readonly checkHop?: (url: URL) => void;
  /** The error for an answer that is neither a redirect nor 200. */
  readonly refused: (response: OutboundResponse) => Error | Promise<Error>;
  /** Links fetched another way (off the origin, through the address guard): the first hop that is one goes to `fetch`. */
  readonly elsewhere?: { readonly when: (url: URL) => boolean; readonly fetch: (url: URL) => Promise<void> };
}

/** HTTP answers after which the same call may succeed later (or on another entry). */
export const retryableHttpStatuses: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);
/** How much of an error answer is read to explain it. */
const maxErrorBytes = 64 * 1024;
const maxRedirects = 5;
const maxMessageChars = 500;

/**
 * Bounded HTTP to one upstream's API, the same for every kind: the credential only to the URLs
 * allowed to receive it, every exchange within its time and size, network trouble as a
 * retryable ProviderError, refusals with the upstream's Retry-After, and every message that
 * leaves cleaned of the secret.
 */
export class UpstreamHttp {
  /** The connection pool, for a helper of the same upstream (Vertex's token exchange). */
  readonly pool: OutboundHttp;

  constructor(private readonly options: UpstreamHttpOptions) {
    this.pool = new OutboundHttp({ keepAliveMs: 30_000, ...(options.maxHeaderBytes ? { maxHeaderBytes: options.maxHeaderBytes } : {}) });
  }

  mayReceiveKey(url: URL): boolean {
    return this.options.mayReceiveKey(url);
  }

  /** A call with the credential; a 401 renews it once where the credential can be renewed. */
  async call(request: UpstreamRequest): Promise<OutboundResponse> {
    if (!this.options.mayReceiveKey(request.url)) throw new ProviderError(`${this.options.label}: the key goes to no other origin than the configured one (${request.url.origin})`, false);
    const { credential } = this.options;
    for (let attempt = 0; ; attempt++) {
      const headers = { ...this.options.callHeaders, ...(await credential.headers(request.signal)), ...request.headers };
      const response = await this.send(request, headers);
      if (response.statusCode !== 401 || attempt > 0 || !credential.renew) return response;
      response.discard();
      credential.renew();
    }
  }

  /** Downloads a result link into `destination`, following its redirects (five at most). */
  async download(start: URL, destination: string, signal: AbortSignal, rules: DownloadRules): Promise<void> {
    const deadline = Date.now() + rules.timeoutMs;
    let url = start;
    for (let hop = 0; hop <= maxRedirects; hop++) {
      rules.checkHop?.(url);
      if (rules.elsewhere?.when(url)) return rules.elsewhere.fetch(url);
      const request = { url, method: 'GET', signal, timeoutMs: deadline - Date.now() } as const;
      const response = rules.withKey && this.mayReceiveKey(url) ? await this.call(request) : await this.send(request, {});
      const location = response.headers.location;
      if (response.statusCode >= 300 && response.statusCode < 400 && location) {
        response.discard();
        url = new URL(location, url);
        continue;
      }
      if (response.statusCode !== 200) throw await rules.refused(response);
      return this.saveVideo(response, destination, rules.maxBytes);
    }
    throw new ProviderError('the download redirected too many times', true);
  }

  /** The body as text, at most `maxBytes` (default the options' `maxAnswerBytes`). */
  readText(response: OutboundResponse, maxBytes = this.options.maxAnswerBytes): Promise<string> {
    return this.reading(() => response.text(maxBytes), `${this.options.label} answered with more than ${maxBytes} bytes`, true);
  }

  async readJson(response: OutboundResponse, maxBytes = this.options.maxAnswerBytes): Promise<unknown> {
    const value = parseJson(await this.readText(response, maxBytes));
    if (value === undefined) throw new ProviderError(`${this.options.label} answered with something that is not JSON`, true);
    return value;
  }

  /** Streams a finished video into `destination`; more than `maxBytes` fails for good. */
  async saveVideo(response: OutboundResponse, destination: string, maxBytes: number): Promise<void> {
    await this.reading(() => response.toFile(destination, maxBytes), `the video is larger than ${maxBytes} bytes`, false);
  }

  /** The start of an error answer as JSON, undefined if it is none; a body that breaks off still leaves the status. */
  async errorBody(response: OutboundResponse): Promise<unknown> {
    return parseJson(await response.head(maxErrorBytes).catch(() => ''));
  }

  /** The error for a refused call: retryable for statuses that may pass later, with the wait asked for. */
  refusal(refused: Refused, message: string, reason: FailureReason = 'generation_failed'): ProviderError {
    const retryAfterMs = refused.retryAfterMs ?? parseRetryAfter(refused.headers?.['retry-after'], Date.now()) ?? undefined;
    const retryable = (this.options.retryableStatuses ?? retryableHttpStatuses).has(refused.statusCode);
    return new ProviderError(this.scrub(message).slice(0, maxMessageChars), retryable, reason, retryAfterMs);
  }

  /** Trouble on the way (network, timeouts, the caller's abort) is worth trying again; local trouble (the disk) passes through. */
  failure(error: unknown): unknown {
    if (!(error instanceof OutboundError) && !(error instanceof DOMException)) return error;
    return new ProviderError(`${this.options.label} could not be reached: ${this.scrub(error.message)}`, true);
  }

  /** Removes every secret from a text that may reach a log, a task record or a client. */
  scrub(text: string): string {
    let clean = text;
    for (const secret of this.options.credential.secrets()) if (secret) clean = clean.split(secret).join('[redacted]');
    for (const pattern of this.options.secretPatterns ?? []) clean = clean.replace(pattern, '$1[redacted]');
    return clean;
  }

  close(): void {
    this.pool.close();
  }

  /** One exchange within its budget (never under 1 ms); the stall timer never outlasts the budget. */
  private async send(request: UpstreamRequest, headers: Record<string, string>): Promise<OutboundResponse> {
    const { url, method, signal, body, contentType = 'application/json' } = request;
    const timeoutMs = Math.max(1, request.timeoutMs ?? this.options.timeoutMs);
    const stallTimeoutMs = Math.min(this.options.stallTimeoutMs ?? this.options.timeoutMs, timeoutMs);
    const withBody = body === undefined ? {} : { body, headers: { ...headers, 'content-type': contentType } };
    try {
      return await this.pool.request({ url, method, headers, signal, timeoutMs, stallTimeoutMs, ...withBody });
    } catch (error) {
      throw this.failure(error);
    }
  }

  private async reading<T>(read: () => Promise<T>, tooLarge: string, isRetryable: boolean): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (error instanceof OutboundError && error.failure === 'too_large') throw new ProviderError(tooLarge, isRetryable);
      throw this.failure(error);
    }
  }
}

/** A `mayReceiveKey` for the configured origin(s) and nothing else. */
export function onlyToOrigins(...origins: string[]): (url: URL) => boolean {
  return (url) => origins.includes(url.origin);
}

/** A `checkHop` that refuses, with `message`, every link that is not http(s). */
export function httpOnly(message: string): (url: URL) => void {
  return (url) => {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ProviderError(message, false);
  };
}

/** JSON, or undefined for a text that is none. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
