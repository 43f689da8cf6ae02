import type { OutboundResponse } from '../../net/outbound-http.js';
import { ProviderError } from '../../ports/video-provider.js';
import { keyInHeader } from '../upstream-credential.js';
import { httpOnly, onlyToOrigins, UpstreamHttp } from '../upstream-http.js';
import { modelNamePattern, type Prediction, predictionIdPattern, predictionSchema, problemSchema, type ReplicateCreateBody } from './replicate-api-types.js';

export interface ReplicateClientOptions {
  readonly baseUrl: string;
  readonly apiToken: string;
  readonly timeoutMs: number;
  readonly maxDownloadBytes: number;
  /** The longest wait for the next byte Replicate owes; default `timeoutMs`. */
  readonly stallTimeoutMs?: number;
}

/**
 * The largest JSON answer read. A prediction echoes its input, and a bridge's input carries the
 * source's last frame as a data: URI (capped at `MAX_INLINE_IMAGE_BYTES`): the answer must fit it,
 * or a create Replicate accepted would look failed and be made again.
 */
const maxAnswerBytes = 32 * 1024 * 1024;

/** The largest picture sent inline (base64 in the body); Replicate recommends links for large files. */
export const MAX_INLINE_IMAGE_BYTES = 10 * 1024 * 1024;

/**
 * Replicate's HTTP API: create a prediction, read it, cancel it, download its output. The token
 * travels only in the `Authorization` header and only to the configured origin (never to the
 * output's host, never to a redirect target elsewhere); every message leaving this class is
 * cleaned of it.
 */
export class ReplicateClient {
  private readonly origin: string;
  private readonly http: UpstreamHttp;

  constructor(private readonly options: ReplicateClientOptions) {
    this.origin = new URL(options.baseUrl).origin;
    this.http = new UpstreamHttp({
      label: 'Replicate',
      credential: keyInHeader('authorization', options.apiToken, 'Bearer'),
      mayReceiveKey: onlyToOrigins(this.origin),
      timeoutMs: options.timeoutMs,
      stallTimeoutMs: options.stallTimeoutMs,
      maxAnswerBytes,
    });
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
    await this.http.download(new URL(uri), destination, signal, {
      timeoutMs: this.options.timeoutMs * 5,
      maxBytes: this.options.maxDownloadBytes,
      withKey: true,
      checkHop: httpOnly('the output link is not an http(s) URL'),
      refused: async (response) => {
        const error = await this.errorFrom(response);
        if ([403, 404, 410].includes(response.statusCode)) return new ProviderError(`the output link has expired or is gone (${error.message})`, false);
        return error;
      },
    });
  }

  async close(): Promise<void> {
    this.http.close();
  }

  /** Removes the token from any text that may reach a log, a task record or a client. */
  scrub(text: string): string {
    return this.http.scrub(text);
  }

  private predictionFrom(json: unknown): Prediction {
    const parsed = predictionSchema.safeParse(json);
    if (!parsed.success) throw new ProviderError('Replicate answered with something that is not a prediction', true);
    return parsed.data;
  }

  private async call(method: 'GET' | 'POST', path: string, signal: AbortSignal, body?: string, headers: Record<string, string> = {}): Promise<unknown> {
    const response = await this.http.call({ url: new URL(path, this.origin), method, signal, headers, ...(body !== undefined ? { body } : {}) });
    if (response.statusCode < 200 || response.statusCode > 202) throw await this.errorFrom(response);
    return this.http.readJson(response);
  }

  private async errorFrom(response: OutboundResponse): Promise<ProviderError> {
    const { statusCode } = response;
    const problem = problemSchema.safeParse(await this.http.errorBody(response));
    const detail = problem.success
      ? [problem.data.title, typeof problem.data.detail === 'string' ? problem.data.detail : undefined].filter(Boolean).join(': ') || `HTTP ${statusCode}`
      : `HTTP ${statusCode}`;
    return this.http.refusal(response, `Replicate ${statusCode} ${detail}`, statusCode === 422 ? 'input_unusable' : 'generation_failed');
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
