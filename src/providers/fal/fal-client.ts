import { type AddressPolicy, AddressRefusedError, checkUrlShape, guardedLookup } from '../../net/address-guard.js';
import { OutboundError, OutboundHttp, type OutboundResponse } from '../../net/outbound-http.js';
import { ProviderError } from '../../ports/video-provider.js';
import type { FailureReason } from '../../domain/task.js';
import { keyInHeader } from '../upstream-credential.js';
import { retryableHttpStatuses, UpstreamHttp } from '../upstream-http.js';
import {
  errorBodySchema,
  type FalErrorBody,
  type FalInput,
  type FalStatus,
  type FalSubmitted,
  statusResponseSchema,
  submitResponseSchema,
  videoResultSchema,
} from './fal-api-types.js';

export interface FalClientOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly timeoutMs: number;
  readonly maxDownloadBytes: number;
  /** How long a download of an output may take in all. */
  readonly downloadTimeoutMs: number;
  /** Whether output links may point at loopback/private addresses (SEGUE_ALLOW_PRIVATE_NETWORKS). */
  readonly allowPrivateNetworks: boolean;
}

/** The answer of `response_url`: the video, or fal's stored error for a request that failed. */
export type FalResult =
  | { readonly kind: 'video'; readonly url: string }
  | { readonly kind: 'error'; readonly statusCode: number; readonly body: FalErrorBody };

const maxRedirects = 5;

/**
 * fal's queue API over HTTP: submit, status, result, cancel, and the download of an output. The
 * key travels only in the `Authorization: Key …` header and only to the configured origin: the
 * `status_url`, `response_url` and `cancel_url` fal answers are used verbatim but must be on that
 * origin, and outputs (on fal's file CDN) are fetched without it, through the address guard.
 */
export class FalClient {
  private readonly base: URL;
  private readonly api: UpstreamHttp;
  private readonly files: OutboundHttp;
  private readonly policy: AddressPolicy;

  constructor(private readonly options: FalClientOptions) {
    const base = new URL(options.baseUrl);
    this.base = base;
    this.api = new UpstreamHttp({
      label: 'fal',
      credential: keyInHeader('authorization', options.apiKey, 'Key'),
      mayReceiveKey: (url) => sameQueue(url, base),
      timeoutMs: options.timeoutMs,
      // A queue answer is a few hundred bytes.
      maxAnswerBytes: 256 * 1024,
      callHeaders: { accept: 'application/json' },
    });
    this.policy = { allowPrivateNetworks: options.allowPrivateNetworks };
    this.files = new OutboundHttp({ lookup: guardedLookup(this.policy), keepAliveMs: 4000 });
  }

  /** Queues a request on `{baseUrl}/{endpoint}{subpath}`; answers fal's ids and URLs. */
  async submit(endpoint: string, input: FalInput, webhookUrl: string | null, signal: AbortSignal): Promise<FalSubmitted> {
    const url = new URL(`${this.base.pathname.replace(/\/+$/, '')}/${endpoint}`, this.base.origin);
    if (webhookUrl) url.searchParams.set('fal_webhook', webhookUrl);
    const response = await this.api.call({ url, method: 'POST', signal, body: JSON.stringify(input) });
    if (response.statusCode < 200 || response.statusCode >= 300) throw await this.errorFrom(response, 'submit');
    const parsed = submitResponseSchema.safeParse(await this.api.readJson(response));
    if (!parsed.success) throw new ProviderError('fal answered the submit without a request id and its URLs', true);
    return parsed.data;
  }

  /** `GET status_url` (verbatim). */
  async status(statusUrl: string, signal: AbortSignal): Promise<FalStatus> {
    const response = await this.api.call({ url: this.onApiOrigin(statusUrl), method: 'GET', signal });
    if (response.statusCode < 200 || response.statusCode >= 300) throw await this.errorFrom(response, 'status');
    const parsed = statusResponseSchema.safeParse(await this.api.readJson(response));
    if (!parsed.success) throw new ProviderError('fal answered the status read with an unexpected shape', true);
    return parsed.data;
  }

  /** `GET response_url` (verbatim): the video, or the request's own error. Busy or unreachable: retryable. */
  async result(responseUrl: string, signal: AbortSignal): Promise<FalResult> {
    const response = await this.api.call({ url: this.onApiOrigin(responseUrl), method: 'GET', signal });
    if (response.statusCode >= 200 && response.statusCode < 300) {
      const parsed = videoResultSchema.safeParse(await this.api.readJson(response));
      if (!parsed.success) return { kind: 'error', statusCode: response.statusCode, body: { detail: 'fal finished without a video' } };
      return { kind: 'video', url: parsed.data.video.url };
    }
    const body = errorBodySchema.safeParse(await this.api.errorBody(response));
    // fal's stored answer for a failed request carries a detail; a bare 429/5xx is the queue being busy.
    if (body.success && (body.data.detail !== undefined || body.data.error_type !== undefined) && response.statusCode !== 429) {
      return { kind: 'error', statusCode: response.statusCode, body: body.data };
    }
    throw this.httpError(response, 'result', body.success ? body.data : undefined);
  }

  /** `PUT cancel_url` (verbatim): true when fal took the cancellation (the request had not started). */
  async cancel(cancelUrl: string, signal: AbortSignal): Promise<boolean> {
    const response = await this.api.call({ url: this.onApiOrigin(cancelUrl), method: 'PUT', signal });
    const accepted = response.statusCode >= 200 && response.statusCode < 300;
    response.discard();
    return accepted;
  }

  /**
   * Downloads an output link, following redirects, never with the key: fal's files are public
   * links on its CDN, checked hop by hop like any URL Segue did not choose. A link that is gone
   * (403, 404, 410) is a final answer; a busy or unreachable server is worth trying again.
   */
  async download(link: string, destination: string, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.options.downloadTimeoutMs;
    try {
      let url = checkUrlShape(link, this.policy);
      for (let hop = 0; hop <= maxRedirects; hop++) {
        const timeoutMs = Math.max(1, deadline - Date.now());
        const response = await this.files.request({ url, method: 'GET', signal, timeoutMs, stallTimeoutMs: Math.min(this.options.timeoutMs, timeoutMs) });
        const location = response.headers.location;
        if (response.statusCode >= 300 && response.statusCode < 400 && location) {
          response.discard();
          url = checkUrlShape(new URL(location, url).toString(), this.policy);
          continue;
        }
        if (response.statusCode !== 200) {
          response.discard();
          throw new ProviderError(`fal's output link answered HTTP ${response.statusCode} (expired or gone)`, retryableHttpStatuses.has(response.statusCode));
        }
        await response.toFile(destination, this.options.maxDownloadBytes);
        return;
      }
      throw new ProviderError('fal\'s output link redirected too many times', false);
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      const refused = error instanceof AddressRefusedError ? error : error instanceof OutboundError && error.cause instanceof AddressRefusedError ? error.cause : undefined;
      if (refused) throw new ProviderError(`fal's output link ${refused.message}`, false);
      if (error instanceof OutboundError && error.failure === 'too_large') {
        throw new ProviderError(`fal's output is larger than ${this.options.maxDownloadBytes} bytes`, false);
      }
      if (error instanceof OutboundError || error instanceof DOMException) throw new ProviderError(`fal's output could not be fetched: ${this.scrub(error.message)}`, true);
      throw error;
    }
  }

  async close(): Promise<void> {
    this.api.close();
    this.files.close();
  }

  /** Removes the key from any text that may reach a log, a task record or a client. */
  scrub(text: string): string {
    return this.api.scrub(text);
  }

  /** A URL fal answered, used as it is, but only on the configured origin (the key goes nowhere else). */
  private onApiOrigin(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ProviderError('fal answered a URL that is not one', false);
    }
    if (!this.api.mayReceiveKey(url)) throw new ProviderError(`fal answered a queue URL on another origin (${url.origin})`, false);
    return url;
  }

  private async errorFrom(response: OutboundResponse, call: string): Promise<ProviderError> {
    const body = errorBodySchema.safeParse(await this.api.errorBody(response));
    return this.httpError(response, call, body.success ? body.data : undefined);
  }

  private httpError(response: OutboundResponse, call: string, body: FalErrorBody | undefined): ProviderError {
    response.discard();
    return this.api.refusal(response, `fal ${call}: HTTP ${response.statusCode}${body ? ` ${describeFalError(body)}` : ''}`, falFailureReason(body));
  }
}

/** fal's error in one line: the problems' messages and types, or the request error's text. */
export function describeFalError(body: FalErrorBody): string {
  const detail = typeof body.detail === 'string'
    ? body.detail
    : (body.detail ?? []).map((problem) => [problem.type, problem.msg].filter(Boolean).join(': ')).join('; ');
  return [body.error_type, detail].filter(Boolean).join(': ') || 'no detail';
}

/** A flagged input is a content-policy refusal; other validation errors mean the input cannot be used. */
export function falFailureReason(body: FalErrorBody | undefined): FailureReason {
  if (!body || !Array.isArray(body.detail)) return 'generation_failed';
  if (body.detail.some((problem) => problem.type === 'content_policy_violation')) return 'content_policy';
  return body.detail.length > 0 ? 'input_unusable' : 'generation_failed';
}

/**
 * Whether a URL fal answered belongs to the configured queue: the same origin; or, for a queue on
 * this machine (a fake, a proxy), the same port under another loopback name; or fal's own hosts
 * over https (its queue's backup host among them).
 */
function sameQueue(url: URL, base: URL): boolean {
  if (url.origin === base.origin) return true;
  const loopback = (host: string) => host === 'localhost' || host.startsWith('127.') || host === '[::1]';
  if (url.protocol === base.protocol && url.port === base.port && loopback(url.hostname) && loopback(base.hostname)) return true;
  const falHost = (host: string) => /(^|\.)(fal\.run|falrun\.com|fal\.ai)$/.test(host);
  return url.protocol === 'https:' && base.protocol === 'https:' && falHost(url.hostname) && falHost(base.hostname);
}
