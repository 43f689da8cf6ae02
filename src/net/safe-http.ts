import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { Agent, request } from 'undici';
import { MediaError } from '../domain/errors.js';
import { type AddressPolicy, AddressRefusedError, checkUrlShape, guardedLookup } from './address-guard.js';

const maxRedirects = 5;

/** What a guarded POST got back. The body is read only up to a small cap and never trusted. */
export interface PostResult {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly bodyPreview: string;
}

/**
 * Outbound HTTP on a user's behalf (media imports, callbacks): http(s) only, every connection
 * pinned to a checked public address, redirects re-checked hop by hop, sizes and times capped.
 */
export class SafeHttpClient {
  private readonly agent: Agent;

  constructor(private readonly policy: AddressPolicy) {
    this.agent = new Agent({ connect: { lookup: guardedLookup(policy) }, keepAliveTimeout: 4000 });
  }

  /** Downloads an http(s) URL or a data: URI into `destination`. Throws MediaError on any refusal. */
  async download(
    source: string,
    destination: string,
    limits: { maxBytes: number; timeoutMs: number; signal?: AbortSignal },
  ): Promise<{ bytes: number; contentType: string | null }> {
    if (source.startsWith('data:')) return this.writeDataUri(source, destination, limits.maxBytes);
    const signals = [AbortSignal.timeout(limits.timeoutMs), ...(limits.signal ? [limits.signal] : [])];
    const signal = AbortSignal.any(signals);
    let url = checkUrlShape(source, this.policy);
    try {
      for (let hop = 0; hop <= maxRedirects; hop++) {
        const response = await request(url, { method: 'GET', dispatcher: this.agent, signal });
        if (response.statusCode >= 300 && response.statusCode < 400 && response.headers.location) {
          await response.body.dump();
          url = checkUrlShape(new URL(String(response.headers.location), url).toString(), this.policy);
          continue;
        }
        if (response.statusCode !== 200) {
          await response.body.dump();
          throw new MediaError(`the server answered HTTP ${response.statusCode}`);
        }
        const declared = Number(response.headers['content-length'] ?? NaN);
        if (declared > limits.maxBytes) {
          await response.body.dump();
          throw new MediaError(`the file is larger than ${limits.maxBytes} bytes`);
        }
        let bytes = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            bytes += chunk.length;
            if (bytes > limits.maxBytes) done(new MediaError(`the file is larger than ${limits.maxBytes} bytes`));
            else done(null, chunk);
          },
        });
        await pipeline(response.body, counter, fs.createWriteStream(destination));
        const contentType = response.headers['content-type'];
        return { bytes, contentType: typeof contentType === 'string' ? contentType : null };
      }
      throw new MediaError('too many redirects');
    } catch (error) {
      await fs.promises.rm(destination, { force: true });
      throw asMediaError(error, signal);
    }
  }

  /** POSTs JSON without following redirects; answers with the status and a capped body preview. */
  async postJson(
    target: string,
    body: string,
    headers: Record<string, string>,
    limits: { timeoutMs: number; maxBodyBytes?: number },
  ): Promise<PostResult> {
    const url = checkUrlShape(target, this.policy);
    const signal = AbortSignal.timeout(limits.timeoutMs);
    try {
      const response = await request(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'user-agent': 'Segue-Webhooks/1', ...headers },
        dispatcher: this.agent,
        signal,
      });
      const cap = limits.maxBodyBytes ?? 4096;
      let preview = '';
      for await (const chunk of response.body) {
        preview += (chunk as Buffer).toString('utf8');
        if (preview.length >= cap) {
          response.body.destroy();
          break;
        }
      }
      return { statusCode: response.statusCode, headers: response.headers, bodyPreview: preview.slice(0, cap) };
    } catch (error) {
      throw asMediaError(error, signal);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
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

function asMediaError(error: unknown, signal: AbortSignal): Error {
  if (error instanceof MediaError || error instanceof AddressRefusedError) return error;
  if (signal.aborted) return new MediaError('the request timed out');
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof AddressRefusedError) return cause;
  const message = error instanceof Error ? error.message : String(error);
  if (/private, loopback|could not be resolved/.test(message)) return new AddressRefusedError(message);
  return new MediaError(`the request failed (${(error as { code?: string }).code ?? message})`);
}
