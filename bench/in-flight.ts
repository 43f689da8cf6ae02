import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MediaTools } from '../src/media/media-tools.js';
import { type BenchDatabase, freePort, onEveryDatabase, stopProcess, waitUntilUp } from './bench-support.js';

const distRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const key = 'sk-bench-inflight-0123456789';
const upstreamKey = 'AIza-bench-inflight-key';

interface FakeOperation {
  readonly createdAt: number;
  readonly readyAt: number;
  readonly polls: number;
  readonly doneServedAt: number | null;
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds (user + system) of a process's children that ended and were waited for, from /proc. */
function endedChildrenCpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/**
 * CPU seconds used by the PostgreSQL server on this machine (its share of the polling work): every
 * server process's own, plus those of backends that ended (counted in the postmaster's children),
 * so a connection closing during the window does not take its CPU out of the figure.
 */
function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      total += cpuSeconds(Number(entry)) + endedChildrenCpuSeconds(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return total;
}

function residentMegabytes(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'))!;
  return Math.round(Number(line.split(/\s+/)[1]) / 1024);
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * In-flight capacity: N tasks (10,000) in flight on the fake Gemini with a 5-minute generation,
 * one Segue process (API + worker), webhooks off. Figures: the Segue process's peak resident
 * memory, its CPU share (of one core) while only polling, and the delay between an operation
 * finishing on the fake and Segue's first poll that sees it done.
 */
export async function inFlightBenchmark(): Promise<Record<string, unknown>> {
  const tasks = Number(process.env['BENCH_INFLIGHT_TASKS'] ?? 10_000);
  const generationSeconds = Number(process.env['BENCH_INFLIGHT_GENERATION_SECONDS'] ?? 300);
  const pollSeconds = 15;
  const targets = { peakResidentMegabytes: 400, pollingCpuShareOfOneCore: 0.1, noticeDelayP99Seconds: (pollSeconds * 4) / 3 + 5 };
  const figures = await onEveryDatabase('inflight', (database) => measureInFlight(database, tasks, generationSeconds, pollSeconds));
  const met = (name: string) => {
    const figure = figures[name] as Record<string, number> | string;
    if (typeof figure !== 'object' || figure['noticeDelayP99Seconds'] === undefined) return null;
    return {
      peakResidentMegabytes: figure['peakResidentMegabytes']! < targets.peakResidentMegabytes,
      pollingCpuShareOfOneCore: figure['pollingCpuShareOfOneCore']! < targets.pollingCpuShareOfOneCore,
      noticeDelayP99Seconds: figure['noticeDelayP99Seconds']! < targets.noticeDelayP99Seconds,
    };
  };
  return {
    benchmark: 'in-flight-capacity',
    tasks,
    generationSeconds,
    pollSeconds: { mean: pollSeconds, min: (pollSeconds * 2) / 3, max: (pollSeconds * 4) / 3 },
    ...figures,
    targets,
    met: { sqlite: met('sqlite'), postgres: met('postgres') },
  };
}

async function measureInFlight(database: BenchDatabase, tasks: number, generationSeconds: number, pollSeconds: number): Promise<Record<string, unknown>> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'segue-bench-inflight-'));
  const clip = path.join(work, 'clip.mp4');
  await new MediaTools({ defaultTimeoutMs: 60_000 }).ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=24:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
  const [fakePort, seguePort] = [await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    const fake = fork(path.join(distRoot, 'src/cli/segue.js'), ['fake-upstream', 'gemini', '--port', String(fakePort), '--api-key', upstreamKey, '--polls', '0', '--generation-seconds', String(generationSeconds), '--video-file', clip], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(fake);
    const fakeUrl = `http://127.0.0.1:${fakePort}`;
    const providersFile = path.join(work, 'providers.json');
    fs.writeFileSync(providersFile, JSON.stringify({
      providers: {
        google: { kind: 'gemini', apiKeyEnv: 'BENCH_GEMINI_KEY', baseUrl: fakeUrl, maxConcurrent: tasks * 2, pollSeconds, timeoutSeconds: 3600 },
        local: { kind: 'local' },
      },
      routes: { veo3_fast: ['google'], '*': ['local'] },
    }));
    const segue = fork(path.join(distRoot, 'src/main.js'), [], {
      execArgv: process.env['BENCH_SEGUE_EXEC_ARGV'] ? process.env['BENCH_SEGUE_EXEC_ARGV'].split(' ') : [],
      env: {
        ...process.env, ...database.environment, BENCH_GEMINI_KEY: upstreamKey, SEGUE_PROVIDERS: providersFile, PORT: String(seguePort),
        SEGUE_BOOTSTRAP_KEY: key, SEGUE_BOOTSTRAP_CREDITS: String(tasks * 1000), SEGUE_RATE_LIMIT: 'off', SEGUE_READ_RATE_LIMIT: 'off',
        SEGUE_MAX_UNFINISHED_TASKS: String(tasks * 2), SEGUE_ALLOW_PRIVATE_NETWORKS: 'true', SEGUE_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    children.push(segue);
    const segueUrl = `http://127.0.0.1:${seguePort}`;
    await waitUntilUp(`${segueUrl}/healthz`);
    await waitUntilUp(`${fakeUrl}/_fake/operations`);
    let peakMegabytes = 0;
    sampler = setInterval(() => (peakMegabytes = Math.max(peakMegabytes, residentMegabytes(segue.pid!))), 1_000);

    const createStarted = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < tasks) {
        next++;
        const response = await fetch(`${segueUrl}/api/v1/veo/generate`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: `in flight ${next}`, model: 'veo3_fast' }) });
        const answer = (await response.json()) as { code: number };
        if (answer.code !== 200) throw new Error(`create answered ${JSON.stringify(answer)}`);
      }
    }));
    const operations = async () => (await (await fetch(`${fakeUrl}/_fake/operations`)).json()) as FakeOperation[];
    while ((await operations()).length < tasks) await pause(1_000);
    const allStartedAt = Date.now();
    const startSeconds = (allStartedAt - createStarted) / 1000;

    // Only polling happens between the last start and the first operation's end.
    const firstReady = Math.min(...(await operations()).map((operation) => operation.readyAt));
    await pause(Math.max(0, Math.min(20_000, firstReady - Date.now() - 5_000)));
    const onPostgres = database.name === 'postgres';
    const windowStart = { at: Date.now(), cpu: cpuSeconds(segue.pid!), databaseCpu: onPostgres ? postgresCpuSeconds() : 0, polls: (await operations()).reduce((sum, operation) => sum + operation.polls, 0) };
    await pause(Math.max(10_000, firstReady - Date.now() - 2_000));
    const windowEnd = { at: Date.now(), cpu: cpuSeconds(segue.pid!), databaseCpu: onPostgres ? postgresCpuSeconds() : 0, polls: (await operations()).reduce((sum, operation) => sum + operation.polls, 0) };

    const lastReady = Math.max(...(await operations()).map((operation) => operation.readyAt));
    let final = await operations();
    while (final.some((operation) => operation.doneServedAt === null) && Date.now() < lastReady + 120_000) {
      await pause(2_000);
      final = await operations();
    }
    clearInterval(sampler);
    const delays = final.map((operation) => (operation.doneServedAt ?? Infinity) - operation.readyAt).sort((a, b) => a - b);
    const windowSeconds = (windowEnd.at - windowStart.at) / 1000;
    return {
      createAndStartSeconds: Math.round(startSeconds * 10) / 10,
      peakResidentMegabytes: peakMegabytes,
      pollingCpuShareOfOneCore: Math.round(((windowEnd.cpu - windowStart.cpu) / windowSeconds) * 1000) / 1000,
      ...(onPostgres ? { databaseServerCpuShareOfOneCore: Math.round(((windowEnd.databaseCpu - windowStart.databaseCpu) / windowSeconds) * 1000) / 1000 } : {}),
      pollsPerSecond: Math.round((windowEnd.polls - windowStart.polls) / windowSeconds),
      // The figure to compare between changes: it does not move with the poll rate the window saw.
      pollingCpuMicrosecondsPerPoll: Math.round(((windowEnd.cpu - windowStart.cpu) * 1e6) / Math.max(1, windowEnd.polls - windowStart.polls)),
      measuredOverSeconds: Math.round(windowSeconds),
      noticed: final.filter((operation) => operation.doneServedAt !== null).length,
      noticeDelayP50Seconds: Math.round(percentile(delays, 0.5) / 100) / 10,
      noticeDelayP99Seconds: Math.round(percentile(delays, 0.99) / 100) / 10,
      noticeDelayMaxSeconds: Math.round(delays.at(-1)! / 100) / 10,
    };
  } finally {
    clearInterval(sampler);
    for (const child of children) await stopProcess(child);
    fs.rmSync(work, { recursive: true, force: true });
  }
}
