import { parseRetryAfter } from '../../net/retry-after.js';
import { OutboundError, OutboundHttp, type OutboundResponse } from '../../net/outbound-http.js';
import { ProviderError } from '../../ports/video-provider.js';
import { modelNamePattern, type Prediction, predictionIdPattern, predictionSchema, problemSchema, type ReplicateCreateBody } from './replicate-api-types.js';

export interface ReplicateClientOptions {
  readonly baseUrl: string;
  readonly apiToken: string;
  readonly timeoutMs: number;
  readonly maxDownloadBytes: number;
  /** The longest wait for the next byte Replicate owes; default `timeoutMs`. */
  readonly stallTimeoutMs?: number;
}

const maxRedirects = 5;
/**
 * The largest JSON answer read. A prediction echoes its input, and a bridge's input carries the
 * source's last frame as a data: URI (capped at `MAX_INLINE_IMAGE_BYTES`): the answer must fit it,
 * or a create Replicate accepted would look failed and be made again.
 */
const maxAnswerBytes = 32 * 1024 * 1024;

/** The largest picture sent inline (base64 in the body); Replicate recommends links for large files. */
export const MAX_INLINE_IMAGE_BYTES = 10 * 1024 * 1024;
/** How much of an error answer is read to explain it. */
const maxErrorBytes = 64 * 1024;
/** HTTP answers after which the same call may succeed later (or on another entry). */
const retryableStatuses = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Replicate's HTTP API: create a prediction, read it, cancel it, download its output. The token
 * travels only in the `Authorization` header and only to the configured origin (never to the
 * output's host, never to a redirect target elsewhere); every message leaving this class is
 * cleaned of it.
 */
export class ReplicateClient {
  private readonly origin: string;
  private readonly outbound = new OutboundHttp({ keepAliveMs: 30_000 });

  constructor(private readonly options: ReplicateClientOptions) {
    this.origin = new URL(options.baseUrl).origin;
  }

  /** Creates a prediction of a public model; `cancelAfterSeconds` is its deadline (`Cancel-After`). */
  async create(model: string, body: ReplicateCreateBody, cancelAfterSeconds: number, signal: AbortSignal): Promise<Prediction> {
    if (!modelNamePattern.test(model)) throw new ProviderError(`not a Replicate model name: ${model}`, false, 'internal');
    const [owner, name] = model.split('/') as [string, string];
    const path = `/v1/models/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/predictions`;
    return this.predictionFrom(await this.call('POST', path, signal, JSON.stringify(body), { 'cancel-after': cancelAfterHeader(cancelAfterSeconds) }));
  }

  async prediction(id: string, signal: AbortSignal): Promise<Prediction> {
    return this.predictionFrom(await this.call('GET', `/v1/predictions/${checkedId(id)}`, signal));
  }

  /** Asks Replicate to stop a prediction (it answers the prediction, `canceled` once it took effect). */
  async cancel(id: string, signal: AbortSignal): Promise<Prediction> {
    return this.predictionFrom(await this.call('POST', `/v1/predictions/${checkedId(id)}/cancel`, signal, ''));
  }

  /**
   * Downloads an output file, following redirects. Output links are public and expire (about an
   * hour): one that is gone answers a non-retryable error; the token goes only to the API's origin.
   */
  async download(uri: string, destination: string, signal: AbortSignal): Promise<void> {
    let url = new URL(uri);
    const deadline = Date.now() + this.options.timeoutMs * 5;
    for (let hop = 0; hop <= maxRedirects; hop++) {
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ProviderError('the output link is not an http(s) URL', false);
      const headers: Record<string, string> = url.origin === this.origin ? { authorization: `Bearer ${this.options.apiToken}` } : {};
      const response = await this.send(url, 'GET', headers, signal, deadline - Date.now());
      const location = response.headers.location;
      if (response.statusCode >= 300 && response.statusCode < 400 && location) {
        response.discard();
        url = new URL(location, url);
        continue;
      }
      if (response.statusCode !== 200) {
        const error = await this.errorFrom(response);
        if ([403, 404, 410].includes(response.statusCode)) throw new ProviderError(`the output link has expired or is gone (${error.message})`, false);
        throw error;
      }
      const limit = this.options.maxDownloadBytes;
      await this.read(() => response.toFile(destination, limit), `the video is larger than ${limit} bytes`, false);
      return;
    }
    throw new ProviderError('the download redirected too many times', true);
  }

  async close(): Promise<void> {
    this.outbound.close();
  }

  /** Removes the token from any text that may reach a log, a task record or a client. */
  scrub(text: string): string {
    return text.split(this.options.apiToken).join('[redacted]');
  }

  private predictionFrom(json: unknown): Prediction {
    const parsed = predictionSchema.safeParse(json);
    if (!parsed.success) throw new ProviderError('Replicate answered with something that is not a prediction', true);
    return parsed.data;
  }

  private async call(method: 'GET' | 'POST', path: string, signal: AbortSignal, body?: string, extra: Record<string, string> = {}): Promise<unknown> {
    const headers = { authorization: `Bearer ${this.options.apiToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...extra };
    const response = await this.send(new URL(path, this.origin), method, headers, signal, this.options.timeoutMs, body);
    if (response.statusCode < 200 || response.statusCode > 202) throw await this.errorFrom(response);
    const text = await this.read(() => response.text(maxAnswerBytes), `Replicate answered with more than ${maxAnswerBytes} bytes`, true);
    try {
      return JSON.parse(text);
    } catch {
      throw new ProviderError('Replicate answered with something that is not JSON', true);
    }
  }

  /** Sends one request within `timeoutMs` (never less than 1 ms); failures become ProviderErrors. */
  private async send(url: URL, method: 'GET' | 'POST', headers: Record<string, string>, signal: AbortSignal, timeoutMs: number, body?: string): Promise<OutboundResponse> {
    const budget = Math.max(1, timeoutMs);
    const stallTimeoutMs = Math.min(this.options.stallTimeoutMs ?? this.options.timeoutMs, budget);
    try {
      return await this.outbound.request({ url, method, headers, signal, timeoutMs: budget, stallTimeoutMs, ...(body !== undefined ? { body } : {}) });
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

  /** Trouble on the way to Replicate is worth trying again; local trouble and the caller's abort pass through. */
  private failure(error: unknown): unknown {
    if (!(error instanceof OutboundError) && !(error instanceof DOMException)) return error;
    return new ProviderError(`Replicate could not be reached: ${this.scrub(error.message)}`, true);
  }

  private async errorFrom(response: OutboundResponse): Promise<ProviderError> {
    const { statusCode, headers } = response;
    // A body that breaks off still leaves the status to explain the failure.
    const text = await response.head(maxErrorBytes).catch(() => '');
    const problem = problemSchema.safeParse(safeJson(text));
    const detail = problem.success
      ? [problem.data.title, typeof problem.data.detail === 'string' ? problem.data.detail : undefined].filter(Boolean).join(': ') || `HTTP ${statusCode}`
      : `HTTP ${statusCode}`;
    return new ProviderError(
      this.scrub(`Replicate ${statusCode} ${detail}`.slice(0, 500)),
      retryableStatuses.has(statusCode),
      statusCode === 422 ? 'input_unusable' : 'generation_failed',
      parseRetryAfter(headers['retry-after'], Date.now()) ?? undefined,
    );
  }
}

/** A duration as Replicate's `Cancel-After` reads it: `15m`, `1h30m`, `90s`. */
export function cancelAfterHeader(totalSeconds: number): string {
  const whole = Math.max(1, Math.round(totalSeconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  return `${hours ? `${hours}h` : ''}${minutes ? `${minutes}m` : ''}${rest ? `${rest}s` : ''}`;
}

function checkedId(id: string): string {
  if (!predictionIdPattern.test(id)) throw new ProviderError('not a Replicate prediction id', false, 'internal');
  return id;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
