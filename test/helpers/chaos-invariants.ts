import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import type { ChaosClient } from './chaos-client.js';
import type { ReceiverRequest } from './flaky-callback-receiver.js';
import { media } from './media-checks.js';

/**
 * What must hold after a chaos run, checked from outside the server: its SQLite database read-only
 * (as an operator would), the admin API's balance and ledger, what the callback receiver got, and
 * the result videos downloaded through the dialect that created each task. Every check adds to one
 * list of problems, so a run reports everything that went wrong at once.
 */
export class Findings {
  readonly problems: string[] = [];

  check(condition: unknown, problem: string): void {
    if (!condition) this.problems.push(problem);
  }
}

export interface TaskRow {
  id: string;
  operation: string;
  state: string;
  price: number;
  callback_url: string | null;
  request_echo: string;
  failure_reason: string | null;
  error_message: string | null;
  duration_seconds: number | null;
  width: number | null;
  height: number | null;
}
export interface JobRow {
  id: string;
  kind: string;
  state: string;
  attempts: number;
  max_attempts: number;
  payload: string;
  last_error: string | null;
  /** Runs cut short by a dead worker, where the queue counts them apart from attempts. */
  interruptions?: number;
}
export interface DeliveryRow {
  id: string;
  task_id: string;
  state: string;
}
export interface Snapshot {
  readonly tasks: TaskRow[];
  readonly jobs: JobRow[];
  readonly deliveries: DeliveryRow[];
}
export interface LedgerEntry {
  readonly kind: string;
  readonly amount: number;
  readonly taskId: string | null;
}

export function readDatabase<T>(dataDir: string, read: (database: SqliteDatabase.Database) => T): T {
  const database = new SqliteDatabase(path.join(dataDir, 'segue.db'), { readonly: true, fileMustExist: true });
  try {
    return read(database);
  } finally {
    database.close();
  }
}

/** The key's tasks and deliveries, and every job (the data dir belongs to the run). */
export function readSnapshot(dataDir: string, apiKeyId: string): Snapshot {
  return readDatabase(dataDir, (database) => ({
    tasks: database.prepare('select * from tasks where api_key_id = ? order by created_at').all(apiKeyId) as TaskRow[],
    jobs: database.prepare('select * from jobs order by created_at').all() as JobRow[],
    deliveries: database.prepare('select id, task_id, state from callback_deliveries where api_key_id = ?').all(apiKeyId) as DeliveryRow[],
  }));
}

/** The task whose render holds a live lease right now (a killed process's stays "running" until its lease runs out). */
export function liveRender(dataDir: string): string | undefined {
  const row = readDatabase(dataDir, (database) =>
    database.prepare(`select payload from jobs where kind = 'local.render' and state = 'running' and lease_expires_at > ?`).get(Date.now()),
  ) as { payload: string } | undefined;
  return row ? (JSON.parse(row.payload) as { taskId: string }).taskId : undefined;
}

/**
 * What is still under way: unfinished tasks, their queued or running jobs (callbacks' included;
 * housekeeping jobs that always come back are not work of the run), pending deliveries.
 */
export function openWork(snapshot: Snapshot): string[] {
  const needles = [...snapshot.tasks.map((task) => task.id), ...snapshot.deliveries.map((delivery) => delivery.id)];
  const ownJobs = snapshot.jobs.filter((job) => needles.some((needle) => job.payload.includes(needle)));
  return [
    ...snapshot.tasks.filter((task) => !isEnded(task)).map((task) => `task ${task.id} ${task.state}`),
    ...ownJobs.filter((job) => job.state === 'queued' || job.state === 'running').map((job) => `${job.kind} ${job.state} (attempt ${job.attempts}) ${job.payload}`),
    ...snapshot.deliveries.filter((delivery) => delivery.state === 'pending').map((delivery) => `delivery ${delivery.id} pending`),
  ];
}

const isEnded = (task: TaskRow) => task.state === 'succeeded' || task.state === 'failed';
export const isUniversal = (task: TaskRow) => String(JSON.parse(task.request_echo).model ?? '').startsWith('google/');

/** How many times a job was started again (after an error, or after the process running it died). */
export const reruns = (job: JobRow) => job.attempts - 1 + (job.interruptions ?? 0);

/** The jobs of a task, its callback's included (matched by payload). */
export function jobsOfTask(snapshot: Snapshot, taskId: string): JobRow[] {
  const needles = [taskId, ...snapshot.deliveries.filter((delivery) => delivery.task_id === taskId).map((delivery) => delivery.id)];
  return snapshot.jobs.filter((job) => needles.some((needle) => job.payload.includes(needle)));
}

/**
 * No lost or stuck task, none failed. The database is the count: every id answered to the client
 * is in it, and tasks nobody was told about come only from creates whose connection broke (none
 * at all when the Idempotency-Key is honoured).
 */
export function checkTasks(
  findings: Findings,
  snapshot: Snapshot,
  client: { answeredIds: ReadonlySet<string>; creates: number; idempotencyHonoured: boolean; uncertainSends: number },
): { orphans: number } {
  const byId = new Set(snapshot.tasks.map((task) => task.id));
  for (const id of client.answeredIds) findings.check(byId.has(id), `task ${id} was answered to the client but is not in the database`);
  const orphans = snapshot.tasks.filter((task) => !client.answeredIds.has(task.id)).length;
  if (client.idempotencyHonoured) {
    findings.check(orphans === 0 && snapshot.tasks.length === client.creates, `Idempotency-Key is honoured, yet the database holds ${snapshot.tasks.length} tasks for ${client.creates} creates (${orphans} never answered to the client)`);
  } else {
    findings.check(orphans <= client.uncertainSends, `${orphans} tasks never answered to the client, but only ${client.uncertainSends} creates broke in flight`);
  }
  for (const task of snapshot.tasks) findings.check(isEnded(task), `task ${task.id} is stuck in ${task.state}`);
  const failed = snapshot.tasks.filter((task) => task.state === 'failed');
  if (failed.length > 0) {
    const details = failed.map((task) => {
      const jobs = jobsOfTask(snapshot, task.id).map(
        (job) => `${job.kind} ${job.state} ${job.attempts}/${job.max_attempts}${job.interruptions ? ` +${job.interruptions} interrupted` : ''}${job.last_error ? ` (${job.last_error})` : ''}`,
      );
      return `${task.id} ${task.operation}: ${task.failure_reason} "${task.error_message}"; jobs: ${jobs.join(', ')}`;
    });
    findings.problems.push(`${failed.length} of ${snapshot.tasks.length} tasks failed (the local engine should never fail):\n    ${details.join('\n    ')}`);
  }
  for (const job of snapshot.jobs.filter((candidate) => candidate.kind === 'callback.deliver')) {
    findings.check(job.state === 'succeeded', `callback job ${job.id} ended ${job.state} after ${job.attempts}/${job.max_attempts} attempts (${job.last_error})`);
  }
  return { orphans };
}

/** Money: balance = grants − captured prices; one hold per task, then one capture (succeeded) or one release (failed). */
export function checkMoney(findings: Findings, snapshot: Snapshot, balance: number, entries: readonly LedgerEntry[]): void {
  const check = findings.check.bind(findings);
  const byId = new Set(snapshot.tasks.map((task) => task.id));
  const grants = entries.filter((entry) => entry.kind === 'grant').reduce((sum, entry) => sum + entry.amount, 0);
  const capturedPrices = snapshot.tasks
    .filter((task) => entries.some((entry) => entry.kind === 'capture' && entry.taskId === task.id))
    .reduce((sum, task) => sum + task.price, 0);
  check(balance === grants - capturedPrices, `balance ${balance} ≠ grants ${grants} − captured prices ${capturedPrices} (off by ${balance - (grants - capturedPrices)})`);
  check(balance === entries.reduce((sum, entry) => sum + entry.amount, 0), `balance ${balance} ≠ the ledger's sum`);
  check(entries.every((entry) => entry.taskId === null || byId.has(entry.taskId)), 'a ledger entry names a task that is not this key’s');
  check(entries.every((entry) => ['grant', 'hold', 'capture', 'release'].includes(entry.kind)), 'unexpected adjustment entries in the ledger');
  for (const task of snapshot.tasks) {
    const own = entries.filter((entry) => entry.taskId === task.id);
    const holds = own.filter((entry) => entry.kind === 'hold');
    const captures = own.filter((entry) => entry.kind === 'capture').length;
    const releases = own.filter((entry) => entry.kind === 'release').length;
    check(task.price > 0, `task ${task.id} has no price`);
    check(holds.length === 1 && holds[0]!.amount === -task.price, `task ${task.id}: holds ${holds.map((hold) => hold.amount).join(', ') || 'none'}, expected one of ${-task.price}`);
    check(captures + releases <= 1, `task ${task.id}: ${captures} captures and ${releases} releases`);
    check((captures === 1) === (task.state === 'succeeded'), `task ${task.id} (${task.state}) was captured ${captures} times`);
    check((releases === 1) === (task.state === 'failed'), `task ${task.id} (${task.state}) was released ${releases} times`);
  }
}

/** Callbacks: each Veo task's one delivery was accepted by the receiver exactly once (by webhook-id), naming its task. */
export function checkCallbacks(
  findings: Findings,
  snapshot: Snapshot,
  receiver: { requests: readonly ReceiverRequest[]; accepted: ReadonlyMap<string, { taskId: string | undefined; body: any }> },
): void {
  const check = findings.check.bind(findings);
  const deliveryById = new Map(snapshot.deliveries.map((delivery) => [delivery.id, delivery]));
  for (const request of receiver.requests) {
    const delivery = deliveryById.get(request.webhookId);
    check(delivery, `the receiver got a callback with an unknown webhook-id ${request.webhookId}`);
    if (delivery) check(request.taskId === delivery.task_id, `delivery ${delivery.id} of task ${delivery.task_id} sent a body naming ${request.taskId}`);
  }
  for (const task of snapshot.tasks) {
    const deliveries = snapshot.deliveries.filter((delivery) => delivery.task_id === task.id);
    const accepted = [...receiver.accepted.entries()].filter(([, delivery]) => delivery.taskId === task.id);
    if (task.callback_url === null) {
      check(deliveries.length === 0 && accepted.length === 0, `task ${task.id} has no callback URL but ${deliveries.length} deliveries`);
      continue;
    }
    check(!isUniversal(task), `universal-dialect task ${task.id} carries a callback URL`);
    check(deliveries.length === 1, `task ${task.id}: ${deliveries.length} callback deliveries`);
    check(deliveries.every((delivery) => delivery.state === 'delivered'), `task ${task.id}: delivery ${deliveries.map((delivery) => delivery.state).join(', ')}`);
    check(accepted.length === 1, `task ${task.id}: the receiver accepted ${accepted.length} distinct callbacks (webhook-ids ${accepted.map(([id]) => id).join(', ')})`);
    const body = accepted[0]?.[1].body;
    if (!body) continue;
    check(body.data?.taskId === task.id, `task ${task.id}: its callback body names ${body.data?.taskId}`);
    if (task.state === 'succeeded') {
      check(body.code === 200 && body.data?.info?.resultUrls?.length === 1, `task ${task.id}: not a success callback with a result: ${JSON.stringify(body).slice(0, 200)}`);
    } else {
      check(body.code !== 200, `task ${task.id} failed but its callback says code ${body.code}`);
    }
  }
}

/** Every succeeded task's result is a real video: downloaded through its dialect, probed with ffprobe. */
export async function checkVideos(findings: Findings, snapshot: Snapshot, client: ChaosClient, scratch: string): Promise<void> {
  const check = findings.check.bind(findings);
  for (const task of snapshot.tasks.filter((candidate) => candidate.state === 'succeeded')) {
    const urls: Array<['video' | 'segment', string]> = [];
    if (isUniversal(task)) {
      const fetched = await client.read(`/v2/video/generations?generation_id=${task.id}`, `generation ${task.id}`);
      urls.push(['video', fetched.video?.url]);
    } else {
      const { data } = await client.read(`/api/v1/veo/record-info?taskId=${task.id}`, `record-info of ${task.id}`);
      urls.push(['video', data.response.fullResultUrls?.[0] ?? data.response.resultUrls[0]]);
      if (task.operation === 'extend') urls.push(['segment', data.response.resultUrls[0]]);
    }
    for (const [label, url] of urls) {
      const file = path.join(scratch, `${task.id}-${label}.mp4`);
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
        if (response.status !== 200) throw new Error(`download answered ${response.status}`);
        fs.writeFileSync(file, Buffer.from(await response.arrayBuffer()));
        const info = await media.probe(file);
        const stored = task.duration_seconds ?? 0;
        check(info.video?.codec === 'h264' && info.audio !== null, `task ${task.id} ${label}: not H.264 with sound (${info.video?.codec}, audio ${info.audio?.codec})`);
        check(info.video?.width === task.width && info.video?.height === task.height, `task ${task.id} ${label}: ${info.video?.width}×${info.video?.height}, stored ${task.width}×${task.height}`);
        if (label === 'video') check(Math.abs(info.durationSeconds - stored) < 0.3, `task ${task.id}: ${info.durationSeconds} s long, stored ${stored} s`);
        else check(info.durationSeconds > 0.5 && info.durationSeconds < stored, `task ${task.id} segment: ${info.durationSeconds} s of a ${stored} s video`);
      } catch (error) {
        findings.problems.push(`task ${task.id} ${label} (${url}): ${(error as Error).message}`);
      } finally {
        fs.rmSync(file, { force: true });
      }
    }
  }
}
