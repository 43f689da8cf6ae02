import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
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
  /** Requests answered (in a mean: in all its runs together). */
  readonly requests: number;
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
    requests: result.requests.total,
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
    requests: runs.reduce((sum, figures) => sum + figures.requests, 0),
  };
}

/**
 * The databases every benchmark measures on, in one run: SQLite in a fresh directory always, and a
 * fresh PostgreSQL database when SEGUE_TEST_DATABASE_URL names a server. `environment` points a
 * Segue at it (data directory and database).
 */
export interface BenchDatabase {
  readonly name: 'sqlite' | 'postgres';
  readonly environment: Record<string, string>;
  drop(): Promise<void>;
}

export async function benchDatabases(purpose: string): Promise<BenchDatabase[]> {
  // BENCH_DATABASES=postgres (or sqlite) measures on that one only.
  const only = process.env['BENCH_DATABASES']?.split(',').map((name) => name.trim());
  const wanted = (name: string) => only === undefined || only.includes(name);
  const list: BenchDatabase[] = [];
  if (wanted('sqlite')) {
    const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), `segue-bench-${purpose}-`));
    list.push({ name: 'sqlite', environment: { SEGUE_DATA_DIR: sqliteDir }, drop: async () => fs.rmSync(sqliteDir, { recursive: true, force: true }) });
  }
  const adminUrl = process.env['SEGUE_TEST_DATABASE_URL'];
  if (adminUrl && wanted('postgres')) {
    const name = `segue_bench_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `segue-bench-${purpose}-pg-`));
    list.push({
      name: 'postgres',
      environment: { SEGUE_DATA_DIR: dataDir, SEGUE_DATABASE_URL: url.toString() },
      drop: async () => {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        await client.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1`, [name]);
        await client.query(`drop database if exists ${name}`);
        await client.end();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    });
  }
  return list;
}

/** Runs `measure` on every bench database in turn; PostgreSQL says why it was skipped when it was. */
export async function onEveryDatabase(purpose: string, measure: (database: BenchDatabase) => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  const figures: Record<string, unknown> = {};
  for (const database of await benchDatabases(purpose)) {
    try {
      figures[database.name] = await measure(database);
    } catch (error) {
      figures[database.name] = { error: (error as Error).message };
    } finally {
      await database.drop();
    }
  }
  if (!('postgres' in figures)) figures['postgres'] = 'skipped: SEGUE_TEST_DATABASE_URL is not set';
  return figures;
}
