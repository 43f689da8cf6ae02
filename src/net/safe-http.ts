import fs from 'node:fs';
import { MediaError } from '../domain/errors.js';
import { type AddressPolicy, AddressRefusedError, checkUrlShape, guardedLookup } from './address-guard.js';
import { OutboundError, OutboundHttp } from './outbound-http.js';

const maxRedirects = 5;

/** What a guarded POST got back. The body is read only up to a small cap and never trusted. */
export interface PostResult {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly bodyPreview: string;
}

/** Limits every exchange of a `SafeHttpClient` shares, beyond the per-call size and time. */
export interface SafeHttpOptions {
  /** The longest wait for the next byte the client expects; default 15 s (and never over the call's timeout). */
  readonly stallTimeoutMs?: number;
  /** Largest response head accepted; default 64 KiB. */
  readonly maxHeaderBytes?: number;
}

/**
 * Outbound HTTP on a user's behalf (media imports, callbacks): http(s) only, every connection
 * pinned to a checked public address, redirects re-checked hop by hop, sizes and times capped.
 */
export class SafeHttpClient {
  private readonly outbound: OutboundHttp;
  private readonly stallTimeoutMs: number;

  constructor(
    private readonly policy: AddressPolicy,
    options: SafeHttpOptions = {},
  ) {
    this.outbound = new OutboundHttp({
      lookup: guardedLookup(policy),
      keepAliveMs: 4000,
      ...(options.maxHeaderBytes ? { maxHeaderBytes: options.maxHeaderBytes } : {}),
    });
    this.stallTimeoutMs = options.stallTimeoutMs ?? 15_000;
  }

  /**
   * Downloads an http(s) URL or a data: URI into `destination`. Throws MediaError on any refusal
   * or failure of the peer; the caller's own abort rejects with the signal's reason.
   */
  async download(
    source: string,
    destination: string,
    limits: { maxBytes: number; timeoutMs: number; signal?: AbortSignal },
  ): Promise<{ bytes: number; contentType: string | null }> {
    if (source.startsWith('data:')) return this.writeDataUri(source, destination, limits.maxBytes);
    const deadline = Date.now() + limits.timeoutMs;
    try {
      let url = checkUrlShape(source, this.policy);
      for (let hop = 0; hop <= maxRedirects; hop++) {
        const timeoutMs = Math.max(1, deadline - Date.now());
        const response = await this.outbound.request({
          url,
          method: 'GET',
          timeoutMs,
          stallTimeoutMs: Math.min(this.stallTimeoutMs, timeoutMs),
          ...(limits.signal ? { signal: limits.signal } : {}),
        });
        const location = response.headers.location;
        if (response.statusCode >= 300 && response.statusCode < 400 && location) {
          response.discard();
          url = checkUrlShape(new URL(location, url).toString(), this.policy);
          continue;
        }
        if (response.statusCode !== 200) {
          response.discard();
          throw new MediaError(`the server answered HTTP ${response.statusCode}`);
        }
        const bytes = await response.toFile(destination, limits.maxBytes);
        return { bytes, contentType: response.headers['content-type'] ?? null };
      }
      throw new MediaError('too many redirects');
    } catch (error) {
      await fs.promises.rm(destination, { force: true });
      throw asMediaError(error, limits.maxBytes, limits.signal);
    }
  }

  /** POSTs JSON without following redirects; answers with the status and a capped body preview. */
  async postJson(
    target: string,
    body: string,
    headers: Record<string, string>,
    limits: { timeoutMs: number; maxBodyBytes?: number },
  ): Promise<PostResult> {
    const cap = limits.maxBodyBytes ?? 4096;
    try {
      const response = await this.outbound.request({
        url: checkUrlShape(target, this.policy),
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'user-agent': 'Segue-Webhooks/1', ...headers },
        timeoutMs: limits.timeoutMs,
        stallTimeoutMs: Math.min(this.stallTimeoutMs, limits.timeoutMs),
      });
      const bodyPreview = await response.head(cap);
      return { statusCode: response.statusCode, headers: response.headers, bodyPreview };
    } catch (error) {
      throw asMediaError(error, cap);
    }
  }

  /** Closes the pooled connections. */
  async close(): Promise<void> {
    this.outbound.close();
  }

  private async writeDataUri(source: string, destination: string, maxBytes: number) {
    const match = /^data:([^;,]*)((?:;[^;,]*)*),/i.exec(source);
    if (!match) throw new MediaError('is not a valid data: URI');
    const payload = source.slice(match[0].length);
    const isBase64 = /;base64/i.test(match[2] ?? '');
    // Cheap upper bound before decoding anything large.
    if ((isBase64 ? (payload.length * 3) / 4 : payload.length) > maxBytes + 4) {
      throw new MediaError(`the file is larger than ${maxBytes} bytes`);
    }
    let bytes: Buffer;
    try {
      bytes = isBase64 ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'utf8');
    } catch {
      throw new MediaError('is not a valid data: URI');
    }
    if (bytes.length > maxBytes) throw new MediaError(`the file is larger than ${maxBytes} bytes`);
    await fs.promises.writeFile(destination, bytes);
    return { bytes: bytes.length, contentType: match[1] || null };
  }
}

/** A failure as the media layer speaks it; the caller's own abort passes through untouched. */
function asMediaError(error: unknown, maxBytes: number, signal?: AbortSignal): unknown {
  if (error instanceof MediaError) return error;
  if (signal?.aborted && error === signal.reason) return error;
  if (!(error instanceof OutboundError)) {
    return new MediaError(`the request failed (${(error as { code?: string }).code ?? String(error)})`);
  }
  if (error.cause instanceof AddressRefusedError) return error.cause;
  if (error.failure === 'timeout') return new MediaError('the request timed out');
  if (error.failure === 'stalled') return new MediaError(`the request ${error.message}`);
  if (error.failure === 'too_large') return new MediaError(`the file is larger than ${maxBytes} bytes`);
  return new MediaError(`the request failed: ${error.message}`);
}
