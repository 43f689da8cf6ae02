import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchDatabase, benchDatabases, freePort, type LoadFigures, load, mean, startProcess, stopProcess, waitUntilUp } from './bench-support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const key = 'sk-bench-0123456789abcdef';

/**
 * API throughput: `GET record-info` and `POST extend` (accepted and queued; the engine is not
 * waited for) against a bare Fastify hello-world, in one run, 50 connections each, on every
 * database (SQLite; PostgreSQL when SEGUE_TEST_DATABASE_URL is set). The load average is printed
 * beside the figures: on a shared machine only the ratios measured side by side compare, and
 * `cpuRatioToBare` (the servers' CPU time per request, from /proc) is the one the load moves least.
 */
export async function apiThroughputBenchmark(): Promise<Record<string, unknown>> {
  const results: Record<string, Record<string, unknown>> = {};
  const loadAverageAtStart = os.loadavg().map((value) => Math.round(value * 100) / 100);
  for (const database of await benchDatabases('api')) {
    try {
      results[database.name] = await onDatabase(database);
    } finally {
      await database.drop();
    }
  }
  return {
    benchmark: 'api-throughput',
    connections: 50,
    loadAverage: { atStart: loadAverageAtStart, atEnd: os.loadavg().map((value) => Math.round(value * 100) / 100), cores: os.cpus().length },
    ...results,
    targets: { recordInfoRatioAtLeast: 0.5, recordInfoP99MsUnder: 20 },
    met: Object.values(results).every((result) => result['met'] === true),
  };
}

async function onDatabase(database: BenchDatabase): Promise<Record<string, unknown>> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const environment = {
    ...database.environment,
    PORT: String(port),
    SEGUE_BOOTSTRAP_KEY: key,
    SEGUE_LOG_LEVEL: 'warn',
    SEGUE_WORKER_POLL_MS: '100',
    // Measure the API's work, not its limits: the load is far past what one key may do.
    SEGUE_RATE_LIMIT: 'off',
    SEGUE_READ_RATE_LIMIT: 'off',
    SEGUE_MAX_UNFINISHED_TASKS: '100000000',
    SEGUE_BOOTSTRAP_CREDITS: '1000000000',
  };
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  {
    // One real, finished task to read and extend.
    let segue = startProcess(path.join(here, '..', 'src', 'main.js'), environment);
    await waitUntilUp(`${base}/healthz`);
    const created: any = await (
      await fetch(`${base}/api/v1/veo/generate`, { method: 'POST', headers, body: JSON.stringify({ prompt: 'bench', seeds: 10001 }) })
    ).json();
    const taskId = created.data.taskId as string;
    for (;;) {
      const info: any = await (await fetch(`${base}/api/v1/veo/record-info?taskId=${taskId}`, { headers })).json();
      if (info.data.successFlag === 1) break;
      if (info.data.successFlag !== 0) throw new Error(`bench task failed: ${info.data.errorMessage}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await stopProcess(segue);

    // The API alone (extensions are accepted and queued, nothing renders them) beside the bare
    // server, both up at once and measured in alternation, so drift on this machine hits both alike.
    segue = startProcess(path.join(here, '..', 'src', 'main.js'), { ...environment, SEGUE_RUN_WORKER: 'false' });
    await waitUntilUp(`${base}/healthz`);
    const recordInfoUrl = `${base}/api/v1/veo/record-info?taskId=${taskId}`;
    const samePayload = await (await fetch(recordInfoUrl, { headers })).text();
    const barePort = await freePort();
    const bare = startProcess(path.join(here, 'bare-server.js'), { PORT: String(barePort), SAME_PAYLOAD: samePayload });
    await waitUntilUp(`http://127.0.0.1:${barePort}/`);
    const bareRuns: ServerLoadFigures[] = [];
    const samePayloadRuns: ServerLoadFigures[] = [];
    const recordInfoRuns: ServerLoadFigures[] = [];
    for (let round = 0; round < 2; round++) {
      bareRuns.push(await loadOn(bare, { url: `http://127.0.0.1:${barePort}/` }));
      samePayloadRuns.push(await loadOn(bare, { url: `http://127.0.0.1:${barePort}/same-payload` }));
      recordInfoRuns.push(await loadOn(segue, { url: recordInfoUrl, headers }));
    }
    const extend = await load({
      url: `${base}/api/v1/veo/extend`,
      method: 'POST',
      headers,
      body: JSON.stringify({ taskId, prompt: 'and then it goes on' }),
    });
    await stopProcess(segue);
    await stopProcess(bare);
    const baseline = meanOn(bareRuns);
    const baselineSamePayload = meanOn(samePayloadRuns);
    const recordInfo = meanOn(recordInfoRuns);
    // What the servers spent per request: on a busy machine, the ratio that requests/s would show
    // on a quiet one (where each server has a core to itself), and robust to the load meanwhile.
    const cpuRatio = (figures: { cpuMicrosPerRequest?: number }) =>
      baseline.cpuMicrosPerRequest && figures.cpuMicrosPerRequest ? Math.round((baseline.cpuMicrosPerRequest / figures.cpuMicrosPerRequest) * 1000) / 1000 : undefined;

    const ratio = (figures: { requestsPerSecond: number }) =>
      Math.round((figures.requestsPerSecond / baseline.requestsPerSecond) * 1000) / 1000;
    return {
      responseBytes: Buffer.byteLength(samePayload),
      bareFastify: baseline,
      bareFastifySamePayload: { ...baselineSamePayload, ratioToBare: ratio(baselineSamePayload), cpuRatioToBare: cpuRatio(baselineSamePayload) },
      recordInfo: {
        ...recordInfo,
        ratioToBare: ratio(recordInfo),
        cpuRatioToBare: cpuRatio(recordInfo),
        ratioToSamePayload: Math.round((recordInfo.requestsPerSecond / baselineSamePayload.requestsPerSecond) * 1000) / 1000,
      },
      extend: { ...extend, ratioToBare: ratio(extend) },
      met: ratio(recordInfo) >= 0.5 && recordInfo.p99Ms < 20,
    };
  }
}

/** A load's figures and the CPU time its server spent meanwhile (where /proc tells). */
interface ServerLoadFigures extends LoadFigures {
  readonly cpuMilliseconds?: number;
}

async function loadOn(server: ChildProcess, options: Parameters<typeof load>[0]): Promise<ServerLoadFigures> {
  const before = cpuMillisecondsOf(server);
  const figures = await load(options);
  const after = cpuMillisecondsOf(server);
  return before === undefined || after === undefined ? figures : { ...figures, cpuMilliseconds: after - before };
}

/** The mean of runs, with the server's CPU time per request over them all. */
function meanOn(runs: readonly ServerLoadFigures[]): LoadFigures & { cpuMicrosPerRequest?: number } {
  const figures = mean(runs);
  if (runs.some((run) => run.cpuMilliseconds === undefined) || figures.requests === 0) return figures;
  const cpuMilliseconds = runs.reduce((sum, run) => sum + run.cpuMilliseconds!, 0);
  return { ...figures, cpuMicrosPerRequest: Math.round((cpuMilliseconds * 10_000) / figures.requests) / 10 };
}

/** Linux's clock ticks per second in /proc (USER_HZ, 100 on every usual build). */
const CLOCK_TICKS_PER_SECOND = 100;

/** User and system CPU time a process has used so far, from /proc (Linux); undefined elsewhere. */
function cpuMillisecondsOf(child: ChildProcess): number | undefined {
  try {
    // Fields after the command's closing parenthesis: state is the first, utime the 12th, stime the 13th.
    const fields = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
