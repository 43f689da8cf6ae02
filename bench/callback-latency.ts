import os from 'node:os';
import { pino } from 'pino';
import { createSegue } from '../src/app/segue.js';
import { loadConfig } from '../src/config/config.js';
import { cpuMs } from '../test/helpers/callback-receiver.js';
import { endTask } from '../test/helpers/terminal-tasks.js';
import { type BenchDatabase, benchDatabases } from './bench-support.js';
import { startBenchReceiver } from './receiver-process.js';

function percentile(sorted: readonly number[], fraction: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]! * 10) / 10;
}

const SEQUENTIAL = 100;
const BURST = 1_000;
const BURST_P99_MS_UNDER = 1_000;
const ONE_AT_A_TIME_P50_MS_UNDER = 200;

/**
 * Callback latency: from the commit of a task's terminal state to the first attempt reaching a
 * local receiver: tasks ending one at a time, then 1,000 ending at once (a burst), on every
 * database (SQLite; PostgreSQL when SEGUE_TEST_DATABASE_URL is set), with the load average.
 */
export async function callbackLatencyBenchmark(): Promise<Record<string, unknown>> {
  const results: Record<string, Record<string, unknown>> = {};
  const loadAverageAtStart = os.loadavg().map((value) => Math.round(value * 100) / 100);
  for (const database of await benchDatabases('callbacks')) {
    try {
      results[database.name] = await onDatabase(database);
    } finally {
      await database.drop();
    }
  }
  return {
    benchmark: 'callback-latency',
    loadAverage: { atStart: loadAverageAtStart, atEnd: os.loadavg().map((value) => Math.round(value * 100) / 100), cores: os.cpus().length },
    ...results,
    targets: { oneAtATimeP50MsUnder: ONE_AT_A_TIME_P50_MS_UNDER, burstTasks: BURST, burstP99MsUnder: BURST_P99_MS_UNDER },
    met: Object.values(results).every((result) => result['met'] === true),
  };
}

async function onDatabase(database: BenchDatabase): Promise<Record<string, unknown>> {
  // The worker's and callbacks' own settings may be tried from the environment (e.g. SEGUE_CALLBACK_CONCURRENCY_PER_DESTINATION).
  const tried = Object.fromEntries(Object.entries(process.env).filter(([name]) => /^SEGUE_(WORKER|CALLBACK)_/.test(name)));
  const config = loadConfig({ ...tried, ...database.environment, SEGUE_BOOTSTRAP_KEY: 'sk-bench-0123456789abcdef', SEGUE_ALLOW_PRIVATE_NETWORKS: 'true' });
  const segue = await createSegue(config, { logger: pino({ level: 'silent' }) });
  const receiver = await startBenchReceiver();
  try {
    await segue.keys.ensureBootstrap(config.bootstrapKey, 0);
    const key = (await segue.keys.authenticate(config.bootstrapKey!))!;
    segue.worker.start();
    const endedAt = new Map<string, number>();
    const endedAtCpu = new Map<string, number>();
    const latencies = () =>
      receiver
        .arrivals()
        .map((callback) => callback.receivedAt - endedAt.get(callback.taskId)!)
        .sort((a, b) => a - b);
    // The same latencies on this process's CPU clock (from its end's return, a little after its
    // commit): what a quiet machine would show for SQLite, where this process is the whole work.
    // With the receiver in a child process, up to the batch of arrivals reaching this process.
    const cpuLatencies = () =>
      receiver
        .arrivals()
        .map((callback) => callback.receivedAtCpuMs - endedAtCpu.get(callback.taskId)!)
        .sort((a, b) => a - b);
    const waitForArrivals = async (count: number) => {
      while (receiver.arrivals().length < count) await new Promise((resolve) => setTimeout(resolve, 1));
    };

    for (let index = 0; index < SEQUENTIAL; index++) {
      const task = await endTask(segue.storage, key.id, receiver.url, 'succeed', segue.lifecycle);
      endedAt.set(task.id, task.finishedAt!);
      await waitForArrivals(index + 1);
    }
    const oneAtATime = latencies();

    receiver.clear();
    const started = Date.now();
    await Promise.all(
      Array.from({ length: BURST }, async () => {
        const task = await endTask(segue.storage, key.id, receiver.url, 'succeed', segue.lifecycle);
        endedAt.set(task.id, task.finishedAt!);
        endedAtCpu.set(task.id, cpuMs());
      }),
    );
    const allEndedInMs = Date.now() - started;
    await waitForArrivals(BURST);
    const inBurst = latencies();
    const burstP99 = percentile(inBurst, 0.99);
    const inBurstCpu = cpuLatencies();
    return {
      receiver: receiver.place,
      oneAtATime: { tasks: SEQUENTIAL, p50Ms: percentile(oneAtATime, 0.5), p99Ms: percentile(oneAtATime, 0.99) },
      // The tasks are ended by this same process (1,000 terminal-state transactions): the first
      // figures are those of their own commits, the latencies from each task's own commit.
      burst: {
        tasks: BURST,
        allEndedInMs,
        p50Ms: percentile(inBurst, 0.5),
        p99Ms: burstP99,
        allDeliveredInMs: Date.now() - started,
        // Load-robust: CPU milliseconds of this process from a task's end to its callback's arrival.
        onCpuClock: { p50Ms: percentile(inBurstCpu, 0.5), p99Ms: percentile(inBurstCpu, 0.99) },
      },
      met: percentile(oneAtATime, 0.5) < ONE_AT_A_TIME_P50_MS_UNDER && burstP99 < BURST_P99_MS_UNDER,
    };
  } finally {
    await receiver.close();
    await segue.close();
  }
}
