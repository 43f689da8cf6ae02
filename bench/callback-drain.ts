import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import pg from 'pg';
import { pino } from 'pino';
import { createSegue, type Segue } from '../src/app/segue.js';
import { TaskLifecycle } from '../src/engine/lifecycle/task-lifecycle.js';
import { loadConfig } from '../src/config/config.js';
import { endTask } from '../test/helpers/terminal-tasks.js';
import { benchDatabases, type BenchDatabase } from './bench-support.js';
import { type BenchReceiver, startBenchReceiver } from './receiver-process.js';

/**
 * Load-robust figures of a callback burst: 1,000 deliveries already owed (their tasks ended while
 * the worker was stopped), then the worker drains them. Counts the database statements the process
 * sends while draining (per delivery), and its CPU time: neither depends on the machine's load.
 */
const DELIVERIES = Number(process.env['BENCH_DRAIN_DELIVERIES'] ?? 1_000);

const statements = new Map<string, number>();
const statementMs = new Map<string, number>();
let counting = false;
function shapeOf(text: string): string {
  return text.replace(/\s+/g, ' ').slice(0, 90);
}
function count(text: string): void {
  if (!counting) return;
  const shape = shapeOf(text);
  statements.set(shape, (statements.get(shape) ?? 0) + 1);
}
/** CPU time (not wall time, which the machine's load stretches) since `started`, a `process.cpuUsage()`. */
function timed(text: string, started: NodeJS.CpuUsage): void {
  if (!counting) return;
  const shape = shapeOf(text);
  const used = process.cpuUsage(started);
  statementMs.set(shape, (statementMs.get(shape) ?? 0) + (used.user + used.system) / 1000);
}

/** BENCH_DRAIN_STATEMENT_CPU=1: also the CPU time inside each SQLite statement (its clock reads cost CPU of their own). */
const timeStatements = process.env['BENCH_DRAIN_STATEMENT_CPU'] === '1';

function countSqliteStatements(): void {
  const Sqlite = createRequire(import.meta.url)('better-sqlite3');
  const probe = new Sqlite(':memory:');
  const prototype = Object.getPrototypeOf(probe.prepare('select 1'));
  probe.close();
  for (const method of ['all', 'run', 'get', 'iterate'] as const) {
    const original = prototype[method];
    prototype[method] = function (this: { source: string }, ...args: unknown[]) {
      count(this.source);
      if (!timeStatements) return original.apply(this, args);
      const started = process.cpuUsage();
      try {
        return original.apply(this, args);
      } finally {
        timed(this.source, started);
      }
    };
  }
}

function countPostgresStatements(): void {
  const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  (pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (this: unknown, ...args: unknown[]) {
    const first = args[0];
    count(typeof first === 'string' ? first : ((first as { text?: string })?.text ?? '?'));
    return original.apply(this, args);
  };
}

async function drain(database: BenchDatabase): Promise<Record<string, unknown>> {
  const config = loadConfig({ ...database.environment, SEGUE_BOOTSTRAP_KEY: 'sk-bench-0123456789abcdef', SEGUE_ALLOW_PRIVATE_NETWORKS: 'true' });
  const segue = await createSegue(config, { logger: pino({ level: 'silent' }) });
  const receiver = await startBenchReceiver();
  try {
    await segue.keys.ensureBootstrap(config.bootstrapKey, 0);
    const key = (await segue.keys.authenticate(config.bootstrapKey!))!;
    for (let start = 0; start < DELIVERIES; start += 50) {
      await Promise.all(Array.from({ length: Math.min(50, DELIVERIES - start) }, () => endTask(segue.storage, key.id, receiver.url)));
    }
    statements.clear();
    statementMs.clear();
    counting = true;
    // BENCH_DRAIN_PROFILE=file.cpuprofile: a CPU profile of the drain alone.
    const profileTo = process.env['BENCH_DRAIN_PROFILE'];
    const profiler = profileTo ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    segue.worker.start();
    while (receiver.arrivals().length < DELIVERIES) await new Promise((resolve) => setTimeout(resolve, 1));
    // Until every attempt is recorded, not only received.
    while ((await segue.storage.callbacks.countByState(['pending']))['pending']! > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      fs.writeFileSync(`${profileTo}.${database.name}.cpuprofile`, JSON.stringify(profile));
      profiler.disconnect();
    }
    counting = false;
    const total = [...statements.values()].reduce((sum, value) => sum + value, 0);
    const top = [...statements.entries()].sort((a, b) => b[1] - a[1]).slice(0, 14);
    const topMs = [...statementMs.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
    // Then a burst ended with the worker running, both ways its first attempts may be queued.
    const endedAndDelivered: Record<string, unknown> = {};
    for (const [way, lifecycle] of [['queued for any worker', new TaskLifecycle(segue.storage)], ['handed to this worker', segue.lifecycle]] as const) {
      endedAndDelivered[way] = await endAndDeliver(segue, key.id, receiver, lifecycle);
    }
    return {
      deliveries: DELIVERIES,
      receiver: receiver.place,
      received: receiver.arrivals().length,
      wallMs: Math.round(wallMs),
      cpuMsPerDelivery: Math.round(((cpu.user + cpu.system) / 1000 / DELIVERIES) * 100) / 100,
      statementsPerDelivery: Math.round((total / DELIVERIES) * 100) / 100,
      statements: Object.fromEntries(top.map(([text, n]) => [text, Math.round((n / DELIVERIES) * 100) / 100])),
      // SQLite only (synchronous), with BENCH_DRAIN_STATEMENT_CPU=1: the CPU time inside each statement, per delivery.
      statementMsPerDelivery: Object.fromEntries(topMs.map(([text, ms]) => [text, Math.round((ms / DELIVERIES) * 1000) / 1000])),
      endedAndDelivered,
    };
  } finally {
    counting = false;
    await receiver.close();
    await segue.close();
  }
}

/**
 * `DELIVERIES` tasks ended at once through `lifecycle` while the worker runs, until every
 * callback is received and recorded: the CPU time and statements per task of ending it and
 * delivering its callback together.
 */
async function endAndDeliver(segue: Segue, apiKeyId: string, receiver: BenchReceiver, lifecycle: TaskLifecycle): Promise<Record<string, unknown>> {
  receiver.clear();
  statements.clear();
  statementMs.clear();
  counting = true;
  const cpuBefore = process.cpuUsage();
  await Promise.all(Array.from({ length: DELIVERIES }, () => endTask(segue.storage, apiKeyId, receiver.url, 'succeed', lifecycle)));
  while (receiver.arrivals().length < DELIVERIES) await new Promise((resolve) => setTimeout(resolve, 1));
  while ((await segue.storage.callbacks.countByState(['pending']))['pending']! > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const cpu = process.cpuUsage(cpuBefore);
  counting = false;
  const total = [...statements.values()].reduce((sum, value) => sum + value, 0);
  const top = [...statements.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  return {
    cpuMsPerTask: Math.round(((cpu.user + cpu.system) / 1000 / DELIVERIES) * 100) / 100,
    statementsPerTask: Math.round((total / DELIVERIES) * 100) / 100,
    statements: Object.fromEntries(top.map(([text, n]) => [text, Math.round((n / DELIVERIES) * 100) / 100])),
    statementMsPerTask: Object.fromEntries(
      [...statementMs.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([text, ms]) => [text, Math.round((ms / DELIVERIES) * 1000) / 1000]),
    ),
  };
}

countSqliteStatements();
countPostgresStatements();
const results: Record<string, unknown> = { loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100) };
for (const database of await benchDatabases('callback-drain')) {
  try {
    results[database.name] = await drain(database);
  } finally {
    await database.drop();
  }
}
results['loadAverageAtEnd'] = os.loadavg().map((value) => Math.round(value * 100) / 100);
console.log(JSON.stringify(results, null, 1));
