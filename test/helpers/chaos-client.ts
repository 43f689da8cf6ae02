import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SegueProcess } from './segue-process.js';
import { waitFor } from './wait-for.js';

/** A connection that was never accepted: the request cannot have landed. */
function wasRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string; errors?: Array<{ code?: string }> } }).cause;
  return cause?.code === 'ECONNREFUSED' || (cause?.errors?.length ? cause.errors.every((inner) => inner.code === 'ECONNREFUSED') : false);
}

/**
 * A client of a server that may die at any moment, as a careful user's code would be: every create
 * carries an `Idempotency-Key` and is sent again (same key, same body) after a connection error;
 * reads wait for the server and try again. It counts its sends, and emits `send` (with the server)
 * just before each.
 *
 * Given several servers (API processes on one database), it talks to the first, and sends a create
 * again to the next one after a connection error, as a load balancer would; `answeredBy` says which
 * server's answer gave each task id.
 */
export class ChaosClient extends EventEmitter {
  readonly sends = { total: 0, refused: 0, uncertain: 0 };
  /** Task id → the server whose answer to a create named it. */
  readonly answeredBy = new Map<string, SegueProcess>();
  private readonly headers: Record<string, string>;
  private readonly servers: readonly SegueProcess[];

  constructor(
    servers: SegueProcess | readonly SegueProcess[],
    key: string,
    private readonly signal: AbortSignal,
  ) {
    super();
    this.servers = Array.isArray(servers) ? servers : [servers as SegueProcess];
    if (this.servers.length === 0) throw new Error('a client needs a server');
    this.headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  }

  /** The server reads go to (and creates go to first). */
  private get server(): SegueProcess {
    return this.servers[0]!;
  }

  /** Creates a task in either dialect; the task id from the first answer that comes back. */
  async create(pathname: string, body: Record<string, unknown>, idempotencyKey: string, timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    const payload = JSON.stringify(body);
    for (let round = 0; ; round++) {
      const server = this.servers[round % this.servers.length]!;
      await server.whenUp(90_000);
      this.emit('send', server);
      this.sends.total++;
      let status: number;
      let text: string;
      try {
        const response = await fetch(`${server.baseUrl}${pathname}`, {
          method: 'POST',
          headers: { ...this.headers, 'idempotency-key': idempotencyKey },
          body: payload,
          signal: AbortSignal.timeout(30_000),
        });
        status = response.status;
        text = await response.text();
      } catch (error) {
        // Refused: it never landed. Anything else (reset, closed, timed out): it may have.
        if (wasRefused(error)) this.sends.refused++;
        else this.sends.uncertain++;
        if (Date.now() > deadline) throw new Error(`create ${idempotencyKey} got no answer within ${timeoutMs} ms: ${(error as Error).message}`);
        await sleep(50, undefined, { signal: this.signal });
        continue;
      }
      const reply = JSON.parse(text);
      const id = pathname.startsWith('/api/v1/veo') ? (reply.code === 200 ? reply.data?.taskId : undefined) : status === 200 ? reply.id : undefined;
      if (typeof id !== 'string') throw new Error(`create ${idempotencyKey} (${pathname}) was refused by ${server.name}: HTTP ${status} ${text.slice(0, 500)}`);
      this.answeredBy.set(id, server);
      return id;
    }
  }

  /** A GET that rides out kills: waits for the server, tries again on connection errors. */
  async read(pathname: string, what: string, timeoutMs = 60_000): Promise<any> {
    const answer = await waitFor(
      what,
      async () => {
        await this.server.whenUp(timeoutMs);
        const response = await fetch(`${this.server.baseUrl}${pathname}`, { headers: this.headers, signal: AbortSignal.timeout(10_000) });
        return { body: await response.json() };
      },
      { timeoutMs, intervalMs: 100 },
    );
    return answer.body;
  }

  /** A Veo-dialect task's record-info once it has ended (successFlag other than 0). */
  async endedVeoRecord(taskId: string, timeoutMs: number): Promise<any> {
    return waitFor(
      `task ${taskId} to end`,
      async () => {
        const info = await this.read(`/api/v1/veo/record-info?taskId=${taskId}`, `record-info of ${taskId}`, timeoutMs);
        return info.code === 200 && info.data.successFlag !== 0 ? info.data : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  }
}
