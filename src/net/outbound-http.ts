import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { finished } from 'node:stream/promises';

/** How an exchange went wrong; each client maps it to its own error type. */
export type OutboundFailure = 'timeout' | 'stalled' | 'too_large' | 'network';

/** An outbound exchange failed: the peer was unreachable, too slow, too big or broke the protocol. */
export class OutboundError extends Error {
  constructor(
    message: string,
    readonly failure: OutboundFailure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OutboundError';
  }
}

/** Settings of one client: its connection pool and what every answer may be. */
export interface OutboundHttpOptions {
  /** Resolves host names for new connections (the address guard's `guardedLookup` pins them to checked addresses). */
  readonly lookup?: net.LookupFunction;
  /** Largest response head (status line and headers) accepted; default 64 KiB. */
  readonly maxHeaderBytes?: number;
  /** How long an idle connection is kept for reuse; default 4 s. */
  readonly keepAliveMs?: number;
  /** Connections per origin; default 128. */
  readonly maxSockets?: number;
}

/** One request. Every response it yields must be read or discarded through `OutboundResponse`. */
export interface OutboundRequest {
  readonly url: URL;
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The caller's cancellation; the call then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** The whole exchange, from connecting to the last body byte. */
  readonly timeoutMs: number;
  /** The longest wait for the response head, or for the next body byte while one is wanted. */
  readonly stallTimeoutMs: number;
}

/**
 * Bounded HTTP/1.1 over `node:http(s)`: a keep-alive pool per client, a cap on the response head,
 * a deadline and a stall timer per exchange. Bodies are never decoded (`accept-encoding: identity`),
 * so a compressed body counts as the bytes it is on the wire.
 */
export class OutboundHttp {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly maxHeaderBytes: number;

  constructor(private readonly options: OutboundHttpOptions = {}) {
    const pool = { keepAlive: true, timeout: options.keepAliveMs ?? 4000, maxSockets: options.maxSockets ?? 128 };
    this.httpAgent = new http.Agent(pool);
    this.httpsAgent = new https.Agent(pool);
    this.maxHeaderBytes = options.maxHeaderBytes ?? 64 * 1024;
  }

  /** Sends a request and answers once the response head has arrived. Rejects with `OutboundError` or the signal's reason. */
  request(spec: OutboundRequest): Promise<OutboundResponse> {
    if (spec.signal?.aborted) return Promise.reject(spec.signal.reason);
    const secure = spec.url.protocol === 'https:';
    const outgoing = (secure ? https : http).request(spec.url, {
      method: spec.method,
      agent: secure ? this.httpsAgent : this.httpAgent,
      maxHeaderSize: this.maxHeaderBytes,
      headers: {
        ...spec.headers,
        'accept-encoding': 'identity',
        ...(spec.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(spec.body)) }),
      },
      ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
    });
    const exchange = new Exchange(spec, outgoing, this.maxHeaderBytes);
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        exchange.finish();
        reject(exchange.explain(error));
      };
      outgoing.once('error', fail);
      outgoing.once('response', (incoming) => {
        outgoing.off('error', fail);
        exchange.disarmStall();
        resolve(new OutboundResponse(incoming, exchange));
      });
      outgoing.end(spec.body);
    });
  }

  /** Closes every pooled connection. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** A response whose head has arrived; its body is read once, bounded, by one of the methods. */
export class OutboundResponse {
  readonly statusCode: number;
  readonly headers: http.IncomingHttpHeaders;

  constructor(
    private readonly incoming: http.IncomingMessage,
    private readonly exchange: Exchange,
  ) {
    this.statusCode = incoming.statusCode ?? 0;
    this.headers = incoming.headers;
    exchange.attach(incoming);
  }

  /** The body as UTF-8 text; rejects with `too_large` beyond `maxBytes`. */
  async text(maxBytes: number): Promise<string> {
    this.refuseDeclaredOver(maxBytes);
    const chunks: Buffer[] = [];
    let bytes = 0;
    await this.pump((chunk) => {
      bytes += chunk.length;
      if (bytes > maxBytes) throw tooLarge(maxBytes);
      chunks.push(chunk);
      return true;
    });
    return Buffer.concat(chunks).toString('utf8');
  }

  /** At most the first `maxBytes` of the body as text; the rest is dropped with the connection. */
  async head(maxBytes: number): Promise<string> {
    const chunks: Buffer[] = [];
    let bytes = 0;
    await this.pump((chunk) => {
      chunks.push(chunk.subarray(0, maxBytes - bytes));
      bytes += chunk.length;
      return bytes < maxBytes;
    });
    return Buffer.concat(chunks).toString('utf8');
  }

  /**
   * Streams the body into a new file, waiting on the disk (backpressure); rejects with
   * `too_large` beyond `maxBytes`. On any failure the partial file is removed.
   */
  async toFile(destination: string, maxBytes: number): Promise<number> {
    this.refuseDeclaredOver(maxBytes);
    const file = fs.createWriteStream(destination);
    let fileError: Error | undefined;
    file.on('error', (error) => {
      fileError ??= error;
      this.incoming.destroy(error);
    });
    let bytes = 0;
    try {
      await this.pump((chunk) => {
        bytes += chunk.length;
        if (bytes > maxBytes) throw tooLarge(maxBytes);
        return file.write(chunk) || new Promise<void>((resolve) => file.once('drain', resolve));
      });
      file.end();
      await finished(file);
      return bytes;
    } catch (error) {
      // Taken before the clean-up, whose own complaints (writes cut short) are not the cause.
      const cause = fileError ?? error;
      file.destroy();
      if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
      await fs.promises.rm(destination, { force: true });
      throw cause;
    }
  }

  /** Drops the body and its connection. */
  discard(): void {
    this.exchange.finish();
    this.incoming.destroy();
  }

  private refuseDeclaredOver(maxBytes: number): void {
    if (Number(this.headers['content-length']) > maxBytes) {
      this.discard();
      throw tooLarge(maxBytes);
    }
  }

  /**
   * Feeds the body to `take` chunk by chunk. `take` answers true for more, false to stop (the
   * rest is dropped), or a promise to wait on before reading on; the stall timer runs only while
   * a byte is wanted.
   */
  private pump(take: (chunk: Buffer) => boolean | Promise<void>): Promise<void> {
    const { incoming, exchange } = this;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (error?: unknown) => {
        if (settled) return;
        settled = true;
        exchange.finish();
        incoming.off('data', onData);
        if (error === undefined) resolve();
        else reject(exchange.explain(error));
      };
      const stop = (error?: unknown) => {
        settle(error);
        incoming.destroy();
      };
      const onData = (chunk: Buffer) => {
        exchange.disarmStall();
        let verdict: boolean | Promise<void>;
        try {
          verdict = take(chunk);
        } catch (error) {
          return stop(error);
        }
        if (verdict === false) return stop();
        if (verdict === true) return exchange.armStall();
        incoming.pause();
        verdict.then(() => {
          if (settled) return;
          exchange.armStall();
          incoming.resume();
        }, stop);
      };
      if (incoming.destroyed) return settle(incoming.errored ?? new Error('the peer closed the connection mid-body'));
      incoming.on('data', onData);
      incoming.once('end', () => settle());
      incoming.once('error', settle);
      incoming.once('close', () => settle(incoming.complete ? undefined : new Error('the peer closed the connection mid-body')));
      exchange.armStall();
    });
  }
}

/** Timers and cancellation of one exchange, from sending the request to the last body byte. */
class Exchange {
  private readonly deadline: NodeJS.Timeout;
  private stallTimer: NodeJS.Timeout | undefined;
  private incoming: http.IncomingMessage | undefined;
  private reason: unknown;
  private readonly onAbort = () => this.abort(this.spec.signal?.reason);

  constructor(
    private readonly spec: OutboundRequest,
    private readonly outgoing: http.ClientRequest,
    private readonly maxHeaderBytes: number,
  ) {
    this.deadline = setTimeout(() => this.abort(new OutboundError(`timed out after ${spec.timeoutMs} ms`, 'timeout')), spec.timeoutMs);
    spec.signal?.addEventListener('abort', this.onAbort, { once: true });
    // Socket errors can arrive after the response head; they end the body, never the process.
    outgoing.on('error', () => undefined);
    this.armStall();
  }

  attach(incoming: http.IncomingMessage): void {
    this.incoming = incoming;
    incoming.on('error', () => undefined);
  }

  armStall(): void {
    this.disarmStall();
    const stalled = new OutboundError(`stalled: nothing arrived for ${this.spec.stallTimeoutMs} ms`, 'stalled');
    this.stallTimer = setTimeout(() => this.abort(stalled), this.spec.stallTimeoutMs);
  }

  disarmStall(): void {
    clearTimeout(this.stallTimer);
  }

  /** Stops the timers; called once the body is read, dropped or failed. */
  finish(): void {
    clearTimeout(this.deadline);
    this.disarmStall();
    this.spec.signal?.removeEventListener('abort', this.onAbort);
  }

  /** The error a caller sees: the first cause of an abort, else the failure as an `OutboundError`. */
  explain(error: unknown): unknown {
    if (this.reason !== undefined) return this.reason;
    if (error instanceof OutboundError) return error;
    const code = (error as { code?: string }).code;
    if (code === 'HPE_HEADER_OVERFLOW') {
      return new OutboundError(`the response head is larger than ${this.maxHeaderBytes} bytes`, 'network', { cause: error });
    }
    const detail = code ?? (error instanceof Error ? error.message : String(error));
    return new OutboundError(`the connection failed (${detail})`, 'network', { cause: error });
  }

  private abort(reason: unknown): void {
    this.reason ??= reason;
    this.finish();
    const error = reason instanceof Error ? reason : new Error(String(reason));
    this.incoming?.destroy(error);
    this.outgoing.destroy(error);
  }
}

function tooLarge(maxBytes: number): OutboundError {
  return new OutboundError(`the body is larger than ${maxBytes} bytes`, 'too_large');
}
