import { type ChildProcess, fork } from 'node:child_process';
import net from 'node:net';
import autocannon from 'autocannon';

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a Node script as its own process (so the load generator does not share its CPU time). */
export function startProcess(script: string, environment: Record<string, string>, args: readonly string[] = []): ChildProcess {
  return fork(script, [...args], { env: { ...process.env, ...environment }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
}

export async function waitUntilUp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not come up`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export interface LoadFigures {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

/** Runs autocannon against one URL and keeps the figures that matter. */
export async function load(options: autocannon.Options): Promise<LoadFigures> {
  const result = await autocannon({ connections: 50, duration: 6, ...options });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** The average of several runs' figures (latencies averaged too: each run is long enough to be stable). */
export function mean(runs: readonly LoadFigures[]): LoadFigures {
  const average = (pick: (figures: LoadFigures) => number) =>
    Math.round((runs.reduce((sum, figures) => sum + pick(figures), 0) / runs.length) * 10) / 10;
  return {
    requestsPerSecond: Math.round(average((figures) => figures.requestsPerSecond)),
    p50Ms: average((figures) => figures.p50Ms),
    p99Ms: average((figures) => figures.p99Ms),
    non2xx: runs.reduce((sum, figures) => sum + figures.non2xx, 0),
    errors: runs.reduce((sum, figures) => sum + figures.errors, 0),
  };
}
