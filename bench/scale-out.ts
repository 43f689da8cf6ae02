import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { openStorage } from '../src/storage/open-storage.js';
import { startCallbackReceiver } from '../test/helpers/callback-receiver.js';
import { endTask } from '../test/helpers/terminal-tasks.js';
import { type BenchDatabase, freePort, load, onEveryDatabase, startProcess, stopProcess, waitUntilUp } from './bench-support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const key = 'sk-bench-0123456789abcdef';
const signingSecret = 'bench-url-signing-secret-0123456789abcdef';

function percentile(sorted: readonly number[], fraction: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]! * 10) / 10;
}

/**
 * Past one machine, per database (SQLite always; PostgreSQL when SEGUE_TEST_DATABASE_URL names a
 * server): create and record-info throughput of an API-only process, and the time from a task's
 * terminal state (committed by another process) to its first callback attempt, with two worker
 * processes of their own competing for the job (the job claim latency with 2 workers, plus one
 * local HTTP call) — the goal is p99 < 100 ms, which only the database's notifications give.
 */
export async function scaleOutBenchmark(): Promise<Record<string, unknown>> {
  const figures = await onEveryDatabase('scale', measure);
  const postgres = figures['postgres'] as { callbackP99Ms?: number } | string;
  const postgresP99 = typeof postgres === 'object' ? postgres.callbackP99Ms : undefined;
  return {
    benchmark: 'scale-out',
    ...figures,
    targets: { callbackP99MsUnderOnPostgres: 100 },
    met: postgresP99 !== undefined ? postgresP99 < 100 : null,
  };
}

async function measure(database: BenchDatabase): Promise<Record<string, unknown>> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const environment = {
    ...database.environment,
    PORT: String(port),
    SEGUE_PUBLIC_URL: base,
    SEGUE_URL_SIGNING_SECRET: signingSecret,
    SEGUE_BOOTSTRAP_KEY: key,
    SEGUE_BOOTSTRAP_CREDITS: '1000000000',
    SEGUE_LOG_LEVEL: 'warn',
    SEGUE_RATE_LIMIT: 'off',
    SEGUE_READ_RATE_LIMIT: 'off',
    SEGUE_MAX_UNFINISHED_TASKS: '100000000',
    SEGUE_ALLOW_PRIVATE_NETWORKS: 'true',
    SEGUE_RUN_WORKER: 'false',
  };
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const api = startProcess(path.join(here, '..', 'src', 'main.js'), environment);
  try {
    await waitUntilUp(`${base}/healthz`);
    const created: any = await (await fetch(`${base}/api/v1/veo/generate`, { method: 'POST', headers, body: JSON.stringify({ prompt: 'bench', seeds: 10001 }) })).json();
    const create = await load({ url: `${base}/api/v1/veo/generate`, method: 'POST', headers, body: JSON.stringify({ prompt: 'a bench of creates' }), duration: 4 });
    const recordInfo = await load({ url: `${base}/api/v1/veo/record-info?taskId=${created.data.taskId}`, headers, duration: 4 });
    await stopProcess(api);

    // Terminal state committed here, delivery made by a worker process of its own.
    const receiver = await startCallbackReceiver(() => 200);
    // Two worker processes compete for every job: the figure is the claim latency with 2 workers (plus one local HTTP call).
    const workers = Array.from({ length: Number(process.env['BENCH_SCALE_WORKERS'] ?? 2) }, () => startProcess(path.join(here, '..', 'src', 'cli', 'segue.js'), { ...environment, SEGUE_WORKER_POLL_MS: '500' }, ['worker']));
    const storage = await openStorage({ dataDir: database.environment['SEGUE_DATA_DIR']!, databaseUrl: database.environment['SEGUE_DATABASE_URL'], logger: pino({ level: 'silent' }) });
    try {
      const keyRow = (await storage.keys.list())[0]!;
      // Warm-up, not measured: the workers come up (migrations checked, providers built, first
      // claims) and deliver 10 callbacks before the figures start.
      const warmUp = 10;
      for (let index = 0; index < warmUp; index++) await endTask(storage, keyRow.id, receiver.url);
      const warmDeadline = Date.now() + 120_000;
      while (receiver.received.length < warmUp && Date.now() < warmDeadline) await new Promise((resolve) => setTimeout(resolve, 20));
      receiver.received.length = 0;
      const endedAt = new Map<string, number>();
      const tasks = 60;
      for (let index = 0; index < tasks; index++) {
        const task = await endTask(storage, keyRow.id, receiver.url);
        endedAt.set(task.id, task.finishedAt!);
        const deadline = Date.now() + 10_000;
        while (receiver.received.length < index + 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const latencies = receiver.received.map((callback) => callback.receivedAt - endedAt.get(callback.body.data.taskId)!).sort((a, b) => a - b);
      return {
        createPerSecond: create.requestsPerSecond,
        createP99Ms: create.p99Ms,
        recordInfoPerSecond: recordInfo.requestsPerSecond,
        recordInfoP99Ms: recordInfo.p99Ms,
        workers: workers.length,
        callbacks: latencies.length,
        ...(process.env['BENCH_SCALE_PRINT'] ? { inOrder: receiver.received.map((callback) => callback.receivedAt - endedAt.get(callback.body.data.taskId)!) } : {}),
        callbackP50Ms: percentile(latencies, 0.5),
        callbackP99Ms: percentile(latencies, 0.99),
      };
    } finally {
      await storage.close();
      for (const worker of workers) await stopProcess(worker);
      await receiver.close();
    }
  } finally {
    await stopProcess(api);
  }
}
