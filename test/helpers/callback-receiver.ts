import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedCallback {
  readonly headers: http.IncomingHttpHeaders;
  readonly rawBody: string;
  readonly body: any;
  readonly receivedAt: number;
  /** This process's CPU time (user + system, ms) when it arrived: a clock the machine's load does not stretch. */
  readonly receivedAtCpuMs: number;
}

/** This process's CPU time so far, in milliseconds. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** How the receiver answers one request: a status, optionally late and with extra headers. */
export type ReceiverAnswer = number | { status: number; delayMs?: number; headers?: Record<string, string> };

/** A real HTTP server that records every callback; `answer` decides each reply (1-based attempt count). */
export async function startCallbackReceiver(answer: (attempt: number) => ReceiverAnswer = () => 200) {
  const received: ReceivedCallback[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = rawBody;
      }
      received.push({ headers: request.headers, rawBody, body, receivedAt: Date.now(), receivedAtCpuMs: cpuMs() });
      const reply = answer(received.length);
      const { status, delayMs = 0, headers = {} } = typeof reply === 'number' ? { status: reply } : reply;
      setTimeout(() => {
        if (!response.destroyed) response.writeHead(status, { 'content-type': 'application/json', ...headers }).end('{"code":200,"msg":"success"}');
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}/callback`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
