/**
 * Chaos: a real server process (`dist/src/main.js`) SIGKILLed at random moments while tasks are
 * submitted, rendered and called back to a receiver that fails on purpose; after the last restart,
 * nothing may be lost, stuck, paid twice or called back twice.
 *
 * Knobs (environment):
 *   SEGUE_CHAOS_TASKS  tasks to submit (default 10)
 *   SEGUE_CHAOS_KILLS  SIGKILLs, each followed by a restart on the same data dir and port (default 4)
 *   SEGUE_CHAOS_SEED   replays a run: every choice (task mix, pauses, kill moments, receiver faults)
 *                      comes from this seed; every run prints the seed it used
 *   SEGUE_CHAOS_KEEP_DATA=1  keeps the server's data dir (database, server.log) and prints its path
 * e.g. `SEGUE_CHAOS_TASKS=60 SEGUE_CHAOS_KILLS=25 node --test dist/test/chaos.test.js`.
 *
 * Creates carry an `Idempotency-Key` and are sent again with the same key and body after a
 * connection error. Where the server does not honour the key yet, such a resend may create a
 * second task; the test therefore counts tasks by what the database holds for the key, not by what
 * the client saw, so every assertion stays exact either way (and it says which case it ran in).
 */
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import SqliteDatabase from 'better-sqlite3';
import { startFlakyCallbackReceiver } from './helpers/flaky-callback-receiver.js';
import { freePort } from './helpers/http-client.js';
import { media } from './helpers/media-checks.js';
import { randomSeed, SeededRandom } from './helpers/seeded-random.js';
import { SegueProcess } from './helpers/segue-process.js';
import { TEST_KEY, temporaryDirectory } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

const taskCount = positiveNumber('SEGUE_CHAOS_TASKS', 10);
const killCount = positiveNumber('SEGUE_CHAOS_KILLS', 4, true);
const seed = process.env['SEGUE_CHAOS_SEED'] ? Number(process.env['SEGUE_CHAOS_SEED']) >>> 0 : randomSeed();
const ADMIN_KEY = 'chaos-admin-key-0123456789';

function positiveNumber(name: string, fallback: number, zeroAllowed = false): number {
  const text = process.env[name];
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < (zeroAllowed ? 0 : 1)) throw new Error(`${name} must be a whole number (got ${text})`);
  return value;
}

const dataDir = temporaryDirectory('segue-chaos-');
const scratch = temporaryDirectory('segue-chaos-downloads-');
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  if (process.env['SEGUE_CHAOS_KEEP_DATA']) console.log(`# chaos data dir kept: ${dataDir}`);
  else fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(scratch, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// The plan: every random choice is drawn up front (or from its own stream), so a seed replays it.

type TaskKind = 'veo-generate' | 'veo-extend' | 'universal-generate' | 'universal-extend';
interface PlannedTask {
  readonly index: number;
  readonly kind: TaskKind;
  /** Pause before submitting it. */
  readonly gapMs: number;
  /** For extensions: the plan index of the Veo generation it continues. */
  readonly sourceIndex: number | undefined;
  readonly seed: number;
}

type KillMoment = 'timer' | 'render' | 'callback' | 'submit' | 'startup';
interface PlannedKill {
  readonly moment: KillMoment;
  /** Up at least this long before the moment is looked for (not for `startup`). */
  readonly minUpMs: number;
  /** timer: the delay; render: how far into the render; submit: how far after the send; startup: after the start. */
  readonly delayMs: number;
  /** Down this long before the restart. */
  readonly downMs: number;
}

function planTasks(random: SeededRandom): PlannedTask[] {
  const tasks: PlannedTask[] = [];
  for (let index = 0; index < taskCount; index++) {
    const generations = tasks.filter((task) => task.kind === 'veo-generate').map((task) => task.index);
    const draw = random.next();
    const kind: TaskKind =
      index === 0 ? 'veo-generate' : draw < 0.45 ? 'veo-generate' : draw < 0.7 ? 'veo-extend' : draw < 0.87 ? 'universal-generate' : 'universal-extend';
    const extension = kind === 'veo-extend' || kind === 'universal-extend';
    tasks.push({
      index,
      kind,
      gapMs: random.int(0, 2_500),
      sourceIndex: extension ? random.pick(generations) : undefined,
      seed: kind.startsWith('veo') ? random.int(10_000, 99_999) : random.int(0, 2 ** 31),
    });
  }
  return tasks;
}

function planKills(random: SeededRandom): PlannedKill[] {
  return Array.from({ length: killCount }, (_, index) => {
    const draw = random.next();
    const moment: KillMoment =
      draw < 0.25 ? 'timer' : draw < 0.55 ? 'render' : draw < 0.75 ? 'callback' : draw < 0.9 || index === 0 ? 'submit' : 'startup';
    return {
      moment,
      minUpMs: random.int(500, 3_000),
      delayMs: moment === 'timer' ? random.int(500, 6_000) : moment === 'render' ? random.int(0, 3_500) : moment === 'submit' ? random.int(0, 20) : random.int(20, 400),
      downMs: random.int(0, 1_000),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Reading the server's state from outside, as an operator would.

interface TaskRow {
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
interface JobRow {
  id: string;
  kind: string;
  state: string;
  attempts: number;
  max_attempts: number;
  payload: string;
  last_error: string | null;
}
interface DeliveryRow {
  id: string;
  task_id: string;
  state: string;
  round: number;
}

function readDatabase<T>(read: (database: SqliteDatabase.Database) => T): T {
  const database = new SqliteDatabase(path.join(dataDir, 'segue.db'), { readonly: true, fileMustExist: true });
  try {
    return read(database);
  } finally {
    database.close();
  }
}

function snapshot(apiKeyId: string) {
  return readDatabase((database) => ({
    tasks: database.prepare('select * from tasks where api_key_id = ? order by created_at').all(apiKeyId) as TaskRow[],
    jobs: database.prepare('select id, kind, state, attempts, max_attempts, payload, last_error from jobs order by created_at').all() as JobRow[],
    deliveries: database.prepare('select id, task_id, state, round from callback_deliveries where api_key_id = ?').all(apiKeyId) as DeliveryRow[],
  }));
}

/** The jobs of a task, its callback's included (matched by payload). */
function jobsOfTask(jobs: JobRow[], deliveries: DeliveryRow[], taskId: string): JobRow[] {
  const needles = [taskId, ...deliveries.filter((delivery) => delivery.task_id === taskId).map((delivery) => delivery.id)];
  return jobs.filter((job) => needles.some((needle) => job.payload.includes(needle)));
}

const isUniversal = (task: TaskRow) => String(JSON.parse(task.request_echo).model ?? '').startsWith('google/');

// ---------------------------------------------------------------------------------------------

test(
  `chaos: ${taskCount} tasks, ${killCount} SIGKILLs of the server, a flaky callback receiver — nothing lost, stuck, paid or called back twice`,
  { timeout: 300_000 + taskCount * 20_000 + killCount * 30_000 },
  async (t) => {
    const random = new SeededRandom(seed);
    const replay = `SEGUE_CHAOS_SEED=${seed} SEGUE_CHAOS_TASKS=${taskCount} SEGUE_CHAOS_KILLS=${killCount}`;
    console.log(`# chaos seed ${seed} (replay: ${replay} node --test dist/test/chaos.test.js)`);
    t.diagnostic(`seed ${seed} — replay with ${replay}`);
    const plan = planTasks(random.fork('tasks'));
    const kills = planKills(random.fork('kills'));

    const receiver = await startFlakyCallbackReceiver(random.fork('receiver'));
    cleanups.push(() => receiver.close());
    const server = new SegueProcess({
      port: await freePort(),
      dataDir,
      environment: {
        SEGUE_BOOTSTRAP_KEY: TEST_KEY,
        SEGUE_BOOTSTRAP_CREDITS: '1000000',
        SEGUE_ADMIN_KEY: ADMIN_KEY,
        SEGUE_ALLOW_PRIVATE_NETWORKS: 'true',
        SEGUE_JOB_LEASE_SECONDS: '2',
        SEGUE_WORKER_POLL_MS: '100',
        SEGUE_SHUTDOWN_GRACE_SECONDS: '2',
        // Fast callback retries: the schedule allows 8 attempts within about 15 s.
        SEGUE_CALLBACK_RETRY_SCHEDULE: '0,300ms,1s,1s,2s,2s,3s,3s',
        SEGUE_CALLBACK_TIMEOUT_SECONDS: '5',
        SEGUE_RATE_LIMIT: 'off',
        SEGUE_READ_RATE_LIMIT: 'off',
        SEGUE_LOG_LEVEL: 'warn',
      },
    });
    const chaos = new AbortController();
    cleanups.push(async () => {
      chaos.abort();
      await server.stop(5_000);
    });
    server.start();
    await server.whenUp(30_000);

    const headers = { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' };
    const sends = { total: 0, refused: 0, uncertain: 0 };
    const sending = new EventEmitter();
    let submitterDone = false;
    const answered = new Map<number, string>(); // plan index → task id
    const probe: { firstId?: string; secondId?: string } = {};
    const notes: string[] = [];

    /** A connection that was never accepted: the request cannot have landed. */
    const wasRefused = (error: unknown) => {
      const cause = (error as { cause?: { code?: string; errors?: Array<{ code?: string }> } }).cause;
      return cause?.code === 'ECONNREFUSED' || (cause?.errors?.length ? cause.errors.every((inner) => inner.code === 'ECONNREFUSED') : false);
    };

    /** A create, sent again with the same Idempotency-Key and body after any connection error. */
    async function create(pathname: string, body: Record<string, unknown>, idempotencyKey: string): Promise<string> {
      const deadline = Date.now() + 120_000;
      const payload = JSON.stringify(body);
      for (;;) {
        await server.whenUp(90_000);
        sending.emit('send');
        sends.total++;
        let status: number;
        let text: string;
        try {
          const response = await fetch(`${server.baseUrl}${pathname}`, {
            method: 'POST',
            headers: { ...headers, 'idempotency-key': idempotencyKey },
            body: payload,
            signal: AbortSignal.timeout(30_000),
          });
          status = response.status;
          text = await response.text();
        } catch (error) {
          if (wasRefused(error)) sends.refused++;
          else sends.uncertain++;
          if (Date.now() > deadline) throw new Error(`create ${idempotencyKey} got no answer within 120 s: ${(error as Error).message}`);
          await sleep(50, undefined, { signal: chaos.signal });
          continue;
        }
        const reply = JSON.parse(text);
        const id = pathname.startsWith('/api/v1/veo') ? (reply.code === 200 ? reply.data?.taskId : undefined) : status === 200 ? reply.id : undefined;
        if (typeof id !== 'string') throw new Error(`create ${idempotencyKey} (${pathname}) was refused: HTTP ${status} ${text}`);
        return id;
      }
    }

    /** A GET that rides out kills: waits for the server, tries again on connection errors. */
    async function read(pathname: string, what: string, timeoutMs = 60_000): Promise<any> {
      return waitFor(
        what,
        async () => {
          await server.whenUp(timeoutMs);
          const response = await fetch(`${server.baseUrl}${pathname}`, { headers, signal: AbortSignal.timeout(10_000) });
          return { body: await response.json() };
        },
        { timeoutMs, intervalMs: 100 },
      ).then((answer) => answer.body);
    }

    /** A Veo task's record-info once it has ended. */
    async function terminalRecord(taskId: string, timeoutMs: number): Promise<any> {
      return waitFor(
        `task ${taskId} to end`,
        async () => {
          const info = await read(`/api/v1/veo/record-info?taskId=${taskId}`, `record-info of ${taskId}`, timeoutMs);
          return info.code === 200 && info.data.successFlag !== 0 ? info.data : undefined;
        },
        { timeoutMs, intervalMs: 250 },
      );
    }

    /** The Veo generation an extension continues: the planned one, or another if that one failed. */
    async function extensionSource(task: PlannedTask): Promise<{ taskId: string; videoUrl: string }> {
      const candidates = [task.sourceIndex!, ...plan.filter((other) => other.kind === 'veo-generate' && other.index < task.index).map((other) => other.index)];
      for (const index of candidates) {
        const sourceId = answered.get(index)!;
        const record = await terminalRecord(sourceId, 60_000 + taskCount * 10_000);
        if (record.successFlag === 1) {
          if (index !== task.sourceIndex) notes.push(`task #${task.index} extends #${index}: its planned source #${task.sourceIndex} failed`);
          return { taskId: sourceId, videoUrl: record.response.resultUrls[0] };
        }
      }
      throw new Error(`task #${task.index} (${task.kind}) has no succeeded source to extend: every earlier Veo generation failed`);
    }

    async function submitter(): Promise<void> {
      for (const task of plan) {
        await sleep(task.gapMs, undefined, { signal: chaos.signal });
        const idempotencyKey = `chaos-${seed}-${task.index}`;
        const prompt = `chaos task ${task.index} (${task.kind})`;
        let pathname: string;
        let body: Record<string, unknown>;
        if (task.kind === 'veo-generate') {
          pathname = '/api/v1/veo/generate';
          body = { prompt, seeds: task.seed, callBackUrl: receiver.url };
        } else if (task.kind === 'veo-extend') {
          const source = await extensionSource(task);
          pathname = '/api/v1/veo/extend';
          body = { taskId: source.taskId, prompt, seeds: task.seed, callBackUrl: receiver.url };
        } else if (task.kind === 'universal-generate') {
          pathname = '/v2/video/generations';
          body = { model: 'google/veo-3.1-t2v-fast', prompt, resolution: '720p', duration: 4, seed: task.seed };
        } else {
          const source = await extensionSource(task);
          pathname = '/v2/video/generations';
          body = { model: 'google/veo3-1-fast-extend-video', prompt, video_url: source.videoUrl, seed: task.seed };
        }
        const taskId = await create(pathname, body, idempotencyKey);
        answered.set(task.index, taskId);
        if (task.index === 0) {
          // Is the Idempotency-Key honoured? The same create again, at a calm moment.
          probe.firstId = taskId;
          probe.secondId = await create(pathname, body, idempotencyKey);
        }
      }
      submitterDone = true;
    }

    const killLog: string[] = [];
    async function reachMoment(kill: PlannedKill): Promise<{ label: string; afterKill?: () => void }> {
      const signal = chaos.signal;
      switch (kill.moment) {
        case 'timer':
          await sleep(kill.delayMs, undefined, { signal });
          return { label: `timer ${kill.delayMs} ms` };
        case 'startup':
          await sleep(kill.delayMs, undefined, { signal });
          return { label: `${kill.delayMs} ms into a start` };
        case 'render': {
          const running = await waitFor(
            'a render to run',
            // A live lease: a killed process's render stays "running" until its lease runs out.
            () =>
              readDatabase(
                (database) =>
                  database.prepare(`select payload from jobs where kind = 'local.render' and state = 'running' and lease_expires_at > ?`).get(Date.now()) as
                    | { payload: string }
                    | undefined,
              ),
            { timeoutMs: 15_000, intervalMs: 50 },
          ).catch(() => undefined);
          if (!running) return { label: 'render (none ran within 15 s: killed anyway)' };
          await sleep(kill.delayMs, undefined, { signal });
          return { label: `${kill.delayMs} ms into the render of ${JSON.parse(running.payload).taskId}` };
        }
        case 'callback': {
          const held = await receiver.holdNext(15_000);
          if (!held) return { label: 'callback (none came within 15 s: killed anyway)' };
          // The receiver takes the callback in while its sender dies: it is answered after the kill.
          return { label: 'a callback in flight (the receiver accepts it after the kill)', afterKill: held.release };
        }
        case 'submit': {
          if (submitterDone) return { label: 'submit (all submitted: killed at once)' };
          const wait = new AbortController();
          const both = AbortSignal.any([signal, wait.signal]);
          const sent = await Promise.race([once(sending, 'send', { signal: both }).then(() => true), sleep(15_000, false, { signal: both })]).finally(() => wait.abort());
          if (!sent) return { label: 'submit (none within 15 s: killed anyway)' };
          await sleep(kill.delayMs, undefined, { signal });
          return { label: `${kill.delayMs} ms after a create was sent` };
        }
      }
    }

    async function killer(): Promise<void> {
      for (const [index, kill] of kills.entries()) {
        if (kill.moment !== 'startup') {
          await server.whenUp(60_000);
          await sleep(kill.minUpMs, undefined, { signal: chaos.signal });
        }
        const moment = await reachMoment(kill);
        await server.kill();
        moment.afterKill?.();
        killLog.push(`kill ${index + 1}: ${moment.label}`);
        await sleep(kill.downMs, undefined, { signal: chaos.signal });
        if (chaos.signal.aborted) return;
        server.start();
      }
      await server.whenUp(60_000);
    }

    const started = Date.now();
    try {
      await Promise.all([submitter(), killer()]);
    } catch (error) {
      chaos.abort();
      throw new Error(`${(error as Error).message}\nseed ${seed}; kills so far:\n  ${killLog.join('\n  ')}\nserver log tail:\n${server.logTail()}`);
    }
    const chaosMs = Date.now() - started;

    // After the last restart: wait on state until every task has ended and every job has finished.
    const admin = async (pathname: string) => {
      const response = await fetch(`${server.baseUrl}/admin${pathname}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` }, signal: AbortSignal.timeout(10_000) });
      assert.equal(response.status, 200, `GET /admin${pathname}`);
      return (await response.json()) as any;
    };
    const apiKeyId: string = (await admin('/keys')).keys.find((key: { name: string }) => key.name === 'bootstrap').id;
    const settleTimeoutMs = 90_000 + taskCount * 12_000;
    const settled = await waitFor(
      'every task to end and every job (callbacks included) to finish',
      () => {
        const state = snapshot(apiKeyId);
        const open =
          state.tasks.filter((task) => task.state !== 'succeeded' && task.state !== 'failed').length +
          state.jobs.filter((job) => job.state === 'queued' || job.state === 'running').length +
          state.deliveries.filter((delivery) => delivery.state === 'pending').length;
        return open === 0 ? state : undefined;
      },
      { timeoutMs: settleTimeoutMs, intervalMs: 200 },
    ).catch((error: Error) => {
      const state = snapshot(apiKeyId);
      const unfinished = state.tasks.filter((task) => task.state !== 'succeeded' && task.state !== 'failed').map((task) => `${task.id} ${task.state}`);
      const jobs = state.jobs.filter((job) => job.state === 'queued' || job.state === 'running').map((job) => `${job.kind} ${job.state} attempts ${job.attempts} ${job.payload}`);
      throw new Error(`${error.message} (seed ${seed})\nunfinished tasks: ${unfinished.join(', ') || 'none'}\nopen jobs: ${jobs.join('; ') || 'none'}\n${server.logTail()}`);
    });
    const settleMs = Date.now() - started - chaosMs;

    const problems: string[] = [];
    const check = (condition: unknown, problem: string) => {
      if (!condition) problems.push(problem);
    };
    const { tasks, jobs, deliveries } = settled;
    const byId = new Map(tasks.map((task) => [task.id, task]));

    // 1. No lost or stuck task. The database is the count; the client's answers must all be in it.
    const idempotencyHonoured = probe.firstId === probe.secondId;
    const clientIds = new Set([...answered.values(), probe.secondId!]);
    for (const [index, id] of answered) check(byId.has(id), `task #${index} (${id}) was answered to the client but is not in the database`);
    check(clientIds.size === plan.length + (idempotencyHonoured ? 0 : 1), `each create answered a distinct task (${clientIds.size} ids for ${plan.length} creates)`);
    const orphans = tasks.filter((task) => !clientIds.has(task.id));
    if (idempotencyHonoured) {
      check(tasks.length === plan.length, `with Idempotency-Key honoured the database holds exactly the ${plan.length} tasks created (it holds ${tasks.length}: ${orphans.length} never answered to the client)`);
    } else {
      check(
        tasks.length >= clientIds.size && orphans.length <= sends.uncertain,
        `tasks in the database (${tasks.length}) = answered (${clientIds.size}) + at most one per create whose connection broke (${sends.uncertain})`,
      );
    }
    const failed = tasks.filter((task) => task.state === 'failed');
    for (const task of tasks) check(task.state === 'succeeded' || task.state === 'failed', `task ${task.id} is stuck in ${task.state}`);
    if (failed.length > 0) {
      const details = failed.map((task) => {
        const taskJobs = jobsOfTask(jobs, deliveries, task.id).map((job) => `${job.kind} ${job.state} ${job.attempts}/${job.max_attempts}${job.last_error ? ` (${job.last_error})` : ''}`);
        return `${task.id} ${task.operation}: ${task.failure_reason} "${task.error_message}"; jobs: ${taskJobs.join(', ')}`;
      });
      problems.push(`${failed.length} of ${tasks.length} tasks failed (the local engine should never fail):\n    ${details.join('\n    ')}`);
    }

    for (const job of jobs.filter((candidate) => candidate.kind === 'callback.deliver')) {
      check(job.state === 'succeeded', `callback job ${job.id} ended ${job.state} after ${job.attempts}/${job.max_attempts} attempts (${job.last_error})`);
    }

    // 2. Money: exactly one hold per task, one capture (succeeded) or one release (failed), never both.
    const [{ balance }, { entries }] = [await admin(`/keys/${apiKeyId}`), await admin(`/keys/${apiKeyId}/ledger?limit=1000`)] as [
      { balance: number },
      { entries: Array<{ kind: string; amount: number; taskId: string | null }> },
    ];
    check(entries.length < 1000, 'the ledger fits in one page of the admin API');
    const grants = entries.filter((entry) => entry.kind === 'grant').reduce((sum, entry) => sum + entry.amount, 0);
    const capturedPrices = tasks
      .filter((task) => entries.some((entry) => entry.kind === 'capture' && entry.taskId === task.id))
      .reduce((sum, task) => sum + task.price, 0);
    check(balance === grants - capturedPrices, `balance ${balance} = grants ${grants} − captured prices ${capturedPrices} (off by ${balance - (grants - capturedPrices)})`);
    check(balance === entries.reduce((sum, entry) => sum + entry.amount, 0), `balance ${balance} = the ledger's sum`);
    check(entries.every((entry) => entry.taskId === null || byId.has(entry.taskId)), 'every ledger entry names a task of this key');
    check(entries.every((entry) => ['grant', 'hold', 'capture', 'release'].includes(entry.kind)), 'no adjustment entries');
    for (const task of tasks) {
      const mine = entries.filter((entry) => entry.taskId === task.id);
      const holds = mine.filter((entry) => entry.kind === 'hold');
      const captures = mine.filter((entry) => entry.kind === 'capture').length;
      const releases = mine.filter((entry) => entry.kind === 'release').length;
      check(holds.length === 1 && holds[0]!.amount === -task.price, `task ${task.id}: one hold of ${-task.price} (got ${holds.map((hold) => hold.amount).join(', ') || 'none'})`);
      check(captures + releases <= 1, `task ${task.id}: ${captures} captures and ${releases} releases`);
      check((captures === 1) === (task.state === 'succeeded'), `task ${task.id} (${task.state}): captured ${captures} times`);
      check((releases === 1) === (task.state === 'failed'), `task ${task.id} (${task.state}): released ${releases} times`);
      check(task.price > 0, `task ${task.id} has a price`);
    }

    // 3. Callbacks: every Veo task's callback accepted exactly once (by webhook-id), naming its task.
    const deliveryById = new Map(deliveries.map((delivery) => [delivery.id, delivery]));
    for (const request of receiver.requests) {
      const delivery = deliveryById.get(request.webhookId);
      check(delivery, `the receiver got a callback with an unknown webhook-id ${request.webhookId}`);
      if (delivery) check(request.taskId === delivery.task_id, `delivery ${delivery.id} of task ${delivery.task_id} sent a body naming ${request.taskId}`);
    }
    for (const task of tasks) {
      const own = deliveries.filter((delivery) => delivery.task_id === task.id);
      const accepted = [...receiver.accepted.entries()].filter(([, delivery]) => delivery.taskId === task.id);
      if (task.callback_url === null) {
        check(own.length === 0 && accepted.length === 0, `task ${task.id} has no callback URL but ${own.length} deliveries`);
        continue;
      }
      check(isUniversal(task) === false, `task ${task.id}: only Veo-dialect tasks carry a callback URL`);
      check(own.length === 1, `task ${task.id}: ${own.length} callback deliveries`);
      check(own.every((delivery) => delivery.state === 'delivered'), `task ${task.id}: delivery ${own.map((delivery) => delivery.state).join(', ')}`);
      check(accepted.length === 1, `task ${task.id}: the receiver accepted ${accepted.length} distinct callbacks (webhook-ids ${accepted.map(([id]) => id).join(', ')})`);
      const body = accepted[0]?.[1].body;
      if (body) {
        check(body.data?.taskId === task.id, `task ${task.id}: the callback body names ${body.data?.taskId}`);
        if (task.state === 'succeeded') check(body.code === 200 && body.data?.info?.resultUrls?.length === 1, `task ${task.id}: a success callback with a result (${JSON.stringify(body).slice(0, 200)})`);
        else check(body.code !== 200, `task ${task.id} failed but its callback says code ${body.code}`);
      }
    }

    // 4. Every result is a real video, fetched through the dialect that created it.
    for (const task of tasks.filter((candidate) => candidate.state === 'succeeded')) {
      const urls: Array<[string, string]> = [];
      if (isUniversal(task)) {
        const fetched = await read(`/v2/video/generations?generation_id=${task.id}`, `generation ${task.id}`);
        urls.push(['video', fetched.video?.url]);
      } else {
        const record = await read(`/api/v1/veo/record-info?taskId=${task.id}`, `record-info of ${task.id}`);
        urls.push(['video', record.data.response.fullResultUrls?.[0] ?? record.data.response.resultUrls[0]]);
        if (task.operation === 'extend') urls.push(['segment', record.data.response.resultUrls[0]]);
      }
      for (const [label, url] of urls) {
        const file = path.join(scratch, `${task.id}-${label}.mp4`);
        try {
          const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
          if (response.status !== 200) throw new Error(`download answered ${response.status}`);
          fs.writeFileSync(file, Buffer.from(await response.arrayBuffer()));
          const info = await media.probe(file);
          check(info.video?.codec === 'h264' && info.audio !== null, `task ${task.id} ${label}: H.264 with sound (${info.video?.codec}, audio ${info.audio?.codec})`);
          check(info.video?.width === task.width && info.video?.height === task.height, `task ${task.id} ${label}: ${info.video?.width}×${info.video?.height}, stored ${task.width}×${task.height}`);
          if (label === 'video') {
            check(Math.abs(info.durationSeconds - (task.duration_seconds ?? 0)) < 0.3, `task ${task.id}: ${info.durationSeconds} s long, stored ${task.duration_seconds} s`);
          } else {
            check(info.durationSeconds > 0.5 && info.durationSeconds < (task.duration_seconds ?? 0), `task ${task.id} segment: ${info.durationSeconds} s`);
          }
        } catch (error) {
          problems.push(`task ${task.id} ${label}: ${(error as Error).message}`);
        } finally {
          fs.rmSync(file, { force: true });
        }
      }
    }

    const renders = jobs.filter((job) => job.kind === 'local.render');
    const summary = [
      `seed ${seed}: ${plan.length} creates (${plan.map((task) => task.kind).join(', ')})`,
      `${server.starts - 1} restarts; chaos phase ${(chaosMs / 1000).toFixed(1)} s, settling ${(settleMs / 1000).toFixed(1)} s`,
      ...killLog,
      `sends ${sends.total}: ${sends.refused} refused (not landed), ${sends.uncertain} broken in flight (maybe landed)`,
      `Idempotency-Key ${idempotencyHonoured ? 'honoured' : 'NOT honoured yet (a resend creates a new task)'}; ${tasks.length} tasks in the database, ${orphans.length} never answered to the client`,
      `tasks: ${tasks.filter((task) => task.state === 'succeeded').length} succeeded, ${failed.length} failed; renders re-run ${renders.reduce((sum, job) => sum + job.attempts - 1, 0)} times (most attempts of one render: ${Math.max(0, ...renders.map((job) => job.attempts))})`,
      `receiver: ${receiver.requests.length} requests, ${receiver.requests.filter((request) => request.outcome === 'answer-500').length} answered 500, ${receiver.requests.filter((request) => request.outcome === 'drop-connection').length} dropped, ${receiver.accepted.size} deliveries accepted, ${receiver.duplicateAccepts} re-deliveries of accepted ones`,
      ...notes,
    ];
    for (const line of summary) t.diagnostic(line);
    assert.deepEqual(problems, [], `chaos found problems (seed ${seed}; replay with ${replay}):\n  ${problems.join('\n  ')}\n\n${summary.join('\n')}`);

    await server.stop(10_000);
  },
);
