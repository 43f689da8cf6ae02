import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimitError, retryAfterSeconds, SegueError, universalError, veoError } from './client-errors.js';

/** Which of Segue's dialects a route speaks: it decides how an error is told. */
export type Dialect = 'veo' | 'universal';

export interface ClientRequest {
  readonly dialect: Dialect;
  readonly method: 'GET' | 'POST';
  /** Path and query, e.g. `/api/v1/tasks?limit=5`. */
  readonly path: string;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly signal?: AbortSignal | undefined;
}

export interface TransportOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly fetch: typeof fetch;
  readonly maxRetries: number;
}

/** A create is not sent again later than this: a longer `Retry-After` is the caller's to decide. */
const MAX_RETRY_WAIT_MS = 60_000;

/** A failure worth sending the same request again for: the network, a 5xx, a 429, maintenance. */
export function isTransient(error: unknown): boolean {
  if (error instanceof SegueError) return error.retryable;
  // What fetch throws when the connection fails (an abort is a DOMException instead).
  return error instanceof TypeError;
}

/** How long to wait before the next attempt: `Retry-After` when given, else 1 s, 2 s, 4 s … up to 15 s. */
function retryDelayMs(error: unknown, attempt: number): number {
  const backoff = Math.min(15_000, 1000 * 2 ** attempt);
  return error instanceof RateLimitError && error.retryAfterSeconds !== null ? Math.max(backoff, error.retryAfterSeconds * 1000) : backoff;
}

/** Segue over HTTP: the key on every request, each dialect's answers read into data or an error. */
export class ClientTransport {
  constructor(private readonly options: TransportOptions) {}

  /** One request; resolves with the Veo envelope's `data` or the universal dialect's body. */
  async send<T>(request: ClientRequest, headers: Record<string, string> = {}): Promise<T> {
    const hasBody = request.body !== undefined;
    const response = await this.options.fetch(`${this.options.baseUrl}${request.path}`, {
      method: request.method,
      headers: { authorization: `Bearer ${this.options.apiKey}`, ...(hasBody ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(hasBody ? { body: JSON.stringify(request.body) } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const retryAfter = retryAfterSeconds(response.headers.get('retry-after'));
    const payload = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (request.dialect === 'veo') {
      if (response.status === 200 && typeof payload?.['code'] === 'number') {
        if (payload['code'] === 200) return payload['data'] as T;
        throw veoError(payload['code'], String(payload['msg'] ?? ''), retryAfter);
      }
      throw veoError(response.status === 200 ? 500 : response.status, `Segue answered HTTP ${response.status} without the Veo envelope`, retryAfter);
    }
    if (response.ok && payload) return payload as T;
    throw universalError(response.ok ? 500 : response.status, String(payload?.['message'] ?? `HTTP ${response.status}`), retryAfter);
  }

  /**
   * A create, sent with its `Idempotency-Key` and sent again (same key, same body) after a
   * transient failure: Segue answers a repeat with the first task, so nothing is made twice.
   */
  async create<T>(request: ClientRequest, idempotencyKey: string): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.send<T>(request, { 'idempotency-key': idempotencyKey });
      } catch (error) {
        const delay = retryDelayMs(error, attempt);
        if (attempt >= this.options.maxRetries || !isTransient(error) || delay > MAX_RETRY_WAIT_MS) throw error;
        await sleep(delay, undefined, request.signal ? { signal: request.signal } : {});
      }
    }
  }
}
