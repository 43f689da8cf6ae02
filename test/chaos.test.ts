/**
 * Chaos: a real server process (`dist/src/main.js`) SIGKILLed at random moments while tasks are
 * submitted, rendered and called back to a receiver that fails on purpose; after the last restart,
 * nothing may be lost, stuck, failed, paid twice or called back twice, and every result must be a
 * real video.
 *
 * Knobs (environment):
 *   SEGUE_CHAOS_TASKS  tasks to submit (default 10)
 *   SEGUE_CHAOS_KILLS  SIGKILLs, each followed by a restart on the same data dir and port (default 4)
 *   SEGUE_CHAOS_SEED   replays a run's choices (task mix, pauses, kill moments, receiver faults);
 *                      every run prints the seed it used. Timing is the machine's: a replay makes
 *                      the same choices, the kills land in about the same places.
 *   SEGUE_CHAOS_KEEP_DATA=1  keeps the server's data dir (segue.db, server.log) and prints its path
 * e.g. `SEGUE_CHAOS_TASKS=60 SEGUE_CHAOS_KILLS=25 node --test dist/test/chaos.test.js`.
 *
 * Creates carry an `Idempotency-Key` and are sent again with the same key and body after a
 * connection error. Where the server does not honour the key (yet), such a resend may create a
 * second task; the test counts tasks by what the database holds for the key, not by what the
 * client saw, so every assertion stays exact either way, and it reports which case it ran in.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkCallbacks, checkMoney, checkTasks, checkVideos, Findings, type LedgerEntry, liveRender, openWork, readSnapshot, reruns } from './helpers/chaos-invariants.js';
import { ChaosClient } from './helpers/chaos-client.js';
import { chaosServerEnvironment, type PlannedKill, type PlannedTask, planKills, planTasks } from './helpers/chaos-plan.js';
import { startFlakyCallbackReceiver } from './helpers/flaky-callback-receiver.js';
import { freePort } from './helpers/http-client.js';
import { randomSeed, SeededRandom } from './helpers/seeded-random.js';
import { SegueProcess } from './helpers/segue-process.js';
import { TEST_KEY, temporaryDirectory } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

function wholeNumber(name: string, fallback: number, minimum: number): number {
  const text = process.env[name];
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < minimum) throw new Error(`${name} must be a whole number ≥ ${minimum} (got ${text})`);
  return value;
}

const taskCount = wholeNumber('SEGUE_CHAOS_TASKS', 10, 1);
const killCount = wholeNumber('SEGUE_CHAOS_KILLS', 4, 0);
const seed = process.env['SEGUE_CHAOS_SEED'] ? wholeNumber('SEGUE_CHAOS_SEED', 0, 0) >>> 0 : randomSeed();
const replay = `SEGUE_CHAOS_SEED=${seed} SEGUE_CHAOS_TASKS=${taskCount} SEGUE_CHAOS_KILLS=${killCount}`;
const ADMIN_KEY = 'chaos-admin-key-0123456789';
/** How long one task may take to end, on two busy cores with renders queued one at a time. */
const perTaskMs = 20_000;

const dataDir = temporaryDirectory('segue-chaos-');
const scratch = temporaryDirectory('segue-chaos-downloads-');
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  if (process.env['SEGUE_CHAOS_KEEP_DATA']) console.log(`# chaos data dir kept: ${dataDir}`);
  else fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(scratch, { recursive: true, force: true });
});

test(
  `chaos: ${taskCount} tasks, ${killCount} SIGKILLs of the server, a flaky callback receiver — nothing lost, stuck, paid or called back twice`,
  // Generous: the two cores may be shared; every wait inside has its own, shorter limit and message.
  { timeout: 300_000 + (taskCount + killCount) * 30_000 },
  async (t) => {
    console.log(`# chaos seed ${seed} (replay: ${replay} node --test dist/test/chaos.test.js)`);
    const random = new SeededRandom(seed);
    const plan = planTasks(random.fork('tasks'), taskCount);
    const kills = planKills(random.fork('kills'), killCount);

    const receiver = await startFlakyCallbackReceiver(random.fork('receiver'));
    cleanups.push(() => receiver.close());
    const server = new SegueProcess({
      port: await freePort(),
      dataDir,
      environment: { ...chaosServerEnvironment({ bootstrapKey: TEST_KEY, adminKey: ADMIN_KEY }), SEGUE_LOG_LEVEL: 'warn' },
    });
    const chaos = new AbortController();
    const signal = chaos.signal;
    cleanups.push(async () => {
      chaos.abort();
      await server.stop(5_000);
    });
    server.start();
    await server.whenUp(30_000);
    const client = new ChaosClient(server, TEST_KEY, signal);

    const answered = new Map<number, string>(); // plan index → task id
    const probe: { firstId?: string; secondId?: string } = {};
    const notes: string[] = [];
    let submitterDone = false;

    /** The Veo generation an extension continues: the planned one, or another if that one failed; none if all failed. */
    async function extensionSource(task: PlannedTask): Promise<{ taskId: string; videoUrl: string } | undefined> {
      const earlier = plan.filter((other) => other.kind === 'veo-generate' && other.index < task.index).map((other) => other.index);
      for (const index of new Set([task.sourceIndex!, ...earlier])) {
        const record = await client.endedVeoRecord(answered.get(index)!, 120_000 + taskCount * perTaskMs);
        if (record.successFlag !== 1) continue;
        if (index !== task.sourceIndex) notes.push(`task #${task.index} extends #${index}: its planned source #${task.sourceIndex} failed`);
        return { taskId: record.taskId, videoUrl: record.response.resultUrls[0] };
      }
      // Left out; the failed generations are reported with everything else at the end.
      notes.push(`task #${task.index} (${task.kind}) left out: every earlier Veo generation failed`);
      return undefined;
    }

    async function request(task: PlannedTask): Promise<{ pathname: string; body: Record<string, unknown> } | undefined> {
      const prompt = `chaos task ${task.index} (${task.kind})`;
      switch (task.kind) {
        case 'veo-generate':
          return { pathname: '/api/v1/veo/generate', body: { prompt, seeds: task.seed, callBackUrl: receiver.url } };
        case 'universal-generate':
          return { pathname: '/v2/video/generations', body: { model: 'google/veo-3.1-t2v-fast', prompt, resolution: '720p', duration: 4, seed: task.seed } };
        case 'veo-extend': {
          const source = await extensionSource(task);
          return source && { pathname: '/api/v1/veo/extend', body: { taskId: source.taskId, prompt, seeds: task.seed, callBackUrl: receiver.url } };
        }
        case 'universal-extend': {
          // A link to one of the caller's own results: Segue extends that task itself.
          const source = await extensionSource(task);
          return source && { pathname: '/v2/video/generations', body: { model: 'google/veo3-1-fast-extend-video', prompt, video_url: source.videoUrl, seed: task.seed } };
        }
      }
    }

    async function submitter(): Promise<void> {
      for (const task of plan) {
        await sleep(task.gapMs, undefined, { signal });
        const create = await request(task);
        if (!create) continue;
        const idempotencyKey = `chaos-${seed}-${task.index}`;
        answered.set(task.index, await client.create(create.pathname, create.body, idempotencyKey));
        if (task.index === 0) {
          // Is the Idempotency-Key honoured? The same create again, same key and body.
          probe.firstId = answered.get(0);
          probe.secondId = await client.create(create.pathname, create.body, idempotencyKey);
        }
      }
      submitterDone = true;
    }

    /** Waits for a kill's moment; says what it was, and what to do just after the kill. */
    async function reachMoment(kill: PlannedKill): Promise<{ label: string; afterKill?: () => void }> {
      switch (kill.moment) {
        case 'timer':
          await sleep(kill.delayMs, undefined, { signal });
          return { label: `timer ${kill.delayMs} ms` };
        case 'startup':
          await sleep(kill.delayMs, undefined, { signal });
          return { label: `${kill.delayMs} ms into a start` };
        case 'render': {
          const taskId = await waitFor('a render to run', () => liveRender(dataDir), { timeoutMs: 15_000, intervalMs: 50 }).catch(() => undefined);
          if (!taskId) return { label: 'render (none ran within 15 s: killed anyway)' };
          await sleep(kill.delayMs, undefined, { signal });
          return { label: `${kill.delayMs} ms into the render of ${taskId}` };
        }
        case 'callback': {
          const held = await receiver.holdNext(15_000);
          if (!held) return { label: 'callback (none came within 15 s: killed anyway)' };
          // The receiver takes the callback in while its sender dies: it answers after the kill.
          return { label: 'a callback in flight (the receiver accepts it after the kill)', afterKill: held.release };
        }
        case 'submit': {
          if (submitterDone) return { label: 'submit (all submitted: killed at once)' };
          const race = new AbortController();
          const either = AbortSignal.any([signal, race.signal]);
          const sent = await Promise.race([once(client, 'send', { signal: either }).then(() => true), sleep(15_000, false, { signal: either })]).finally(() => race.abort());
          if (!sent) return { label: 'submit (none within 15 s: killed anyway)' };
          await sleep(kill.delayMs, undefined, { signal });
          return { label: `${kill.delayMs} ms after a create was sent` };
        }
      }
    }

    const killLog: string[] = [];
    async function killer(): Promise<void> {
      for (const [index, kill] of kills.entries()) {
        if (kill.moment !== 'startup') {
          await server.whenUp(60_000);
          await sleep(kill.minUpMs, undefined, { signal });
        }
        const moment = await reachMoment(kill);
        await server.kill();
        moment.afterKill?.();
        killLog.push(`kill ${index + 1}: ${moment.label}`);
        await sleep(kill.downMs, undefined, { signal });
        server.start();
      }
      await server.whenUp(60_000);
    }

    const started = Date.now();
    try {
      await Promise.all([submitter(), killer()]);
    } catch (error) {
      chaos.abort();
      throw new Error(`${(error as Error).message}\nseed ${seed} (${replay}); kills so far:\n  ${killLog.join('\n  ')}\nserver log tail:\n${server.logTail()}`);
    }
    const chaosMs = Date.now() - started;

    // After the last restart: wait on state until every task has ended and every job has finished.
    const admin = async (pathname: string): Promise<any> => {
      const response = await fetch(`${server.baseUrl}/admin${pathname}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` }, signal: AbortSignal.timeout(10_000) });
      assert.equal(response.status, 200, `GET /admin${pathname}`);
      return response.json();
    };
    const apiKeyId: string = (await admin('/keys')).keys.find((key: { name: string }) => key.name === 'bootstrap').id;
    const settleTimeoutMs = 120_000 + taskCount * perTaskMs;
    const snapshot = await waitFor(
      'every task to end and every job (callbacks included) to finish',
      () => {
        const state = readSnapshot(dataDir, apiKeyId);
        return openWork(state).length === 0 ? state : undefined;
      },
      { timeoutMs: settleTimeoutMs, intervalMs: 200 },
    ).catch((error: Error) => {
      const open = openWork(readSnapshot(dataDir, apiKeyId));
      throw new Error(`${error.message} (seed ${seed}: ${replay})\nstill open:\n  ${open.join('\n  ')}\nserver log tail:\n${server.logTail()}`);
    });
    const settleMs = Date.now() - started - chaosMs;

    const findings = new Findings();
    const idempotencyHonoured = probe.firstId === probe.secondId;
    const answeredIds = new Set([...answered.values(), probe.secondId!]);
    findings.check(idempotencyHonoured || answeredIds.size === answered.size + 1, `each create was answered with its own task (${answeredIds.size} ids for ${answered.size + 1} creates)`);
    const { orphans } = checkTasks(findings, snapshot, { answeredIds, creates: answered.size, idempotencyHonoured, uncertainSends: client.sends.uncertain });
    const { balance } = (await admin(`/keys/${apiKeyId}`)) as { balance: number };
    const { entries } = (await admin(`/keys/${apiKeyId}/ledger?limit=1000`)) as { entries: LedgerEntry[] };
    findings.check(entries.length < 1000, 'the ledger does not fit in one page of the admin API');
    checkMoney(findings, snapshot, balance, entries);
    checkCallbacks(findings, snapshot, receiver);
    await checkVideos(findings, snapshot, client, scratch);

    const { sends } = client;
    const renders = snapshot.jobs.filter((job) => job.kind === 'local.render');
    const outcomes = (outcome: string) => receiver.requests.filter((request) => request.outcome === outcome).length;
    const summary = [
      `seed ${seed}: ${answered.size} of ${plan.length} planned creates sent (${plan.map((task) => task.kind).join(', ')})`,
      `${server.starts - 1} restarts; chaos phase ${(chaosMs / 1000).toFixed(1)} s, settling ${(settleMs / 1000).toFixed(1)} s`,
      ...killLog,
      `sends ${sends.total}: ${sends.refused} refused (not landed), ${sends.uncertain} broken in flight (maybe landed)`,
      `Idempotency-Key ${idempotencyHonoured ? 'honoured' : 'NOT honoured (a resend creates a new task)'}; ${snapshot.tasks.length} tasks in the database, ${orphans} never answered to the client`,
      `tasks: ${snapshot.tasks.filter((task) => task.state === 'succeeded').length} succeeded, ${snapshot.tasks.filter((task) => task.state === 'failed').length} failed; renders re-run ${renders.reduce((sum, job) => sum + reruns(job), 0)} times (at most ${Math.max(0, ...renders.map(reruns))} for one render)`,
      `receiver: ${receiver.requests.length} requests, ${outcomes('answer-500')} answered 500, ${outcomes('drop-connection')} dropped, ${receiver.accepted.size} deliveries accepted, ${receiver.duplicateAccepts} re-deliveries of accepted ones`,
      ...notes,
    ];
    for (const line of summary) t.diagnostic(line);
    assert.deepEqual(findings.problems, [], `chaos found problems (seed ${seed}; replay with ${replay}):\n  ${findings.problems.join('\n  ')}\n\n${summary.join('\n')}`);

    await server.stop(10_000);
  },
);
