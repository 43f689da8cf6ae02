/**
 * Segue past one process: real `segue serve` and `segue worker` processes on one database (SQLite
 * in a shared data directory; PostgreSQL when SEGUE_TEST_DATABASE_URL is set), with the fake
 * Gemini as the upstream. The API processes run no jobs; the worker runs only its kinds; the rate
 * limit, the breaker and the metrics are the same whichever process answers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FAKE_GEMINI_KEY, startFakeGemini, writeProvidersFile } from './helpers/fake-gemini.js';
import { freePort, VeoClient } from './helpers/http-client.js';
import { SegueProcess, segueScripts } from './helpers/segue-process.js';
import { DIALECTS } from './helpers/storage-dialects.js';
import { temporaryDirectory } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'segue.js');
const SIGNING_SECRET = 'processes-apart-signing-secret-0123456789';
const ADMIN_KEY = 'admin-key-processes-0123456789';
const BOOTSTRAP_KEY = 'sk-processes-apart-0123456789';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Runs `segue ARGS` to its end with only these Segue variables; answers its exit code and stderr. */
async function segueCommand(args: string[], environment: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SEGUE_')));
  try {
    const { stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { env: { ...inherited, ...environment }, timeout: 30_000 });
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { code: failed.code ?? -1, stderr: failed.stderr ?? '' };
  }
}

test('serve and worker started apart refuse to start without SEGUE_URL_SIGNING_SECRET and SEGUE_PUBLIC_URL; a worker refuses unknown job kinds', async () => {
  const dataDir = temporaryDirectory('segue-refusals-');
  cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const shared = { SEGUE_DATA_DIR: dataDir, SEGUE_URL_SIGNING_SECRET: SIGNING_SECRET, SEGUE_PUBLIC_URL: 'http://127.0.0.1:8080' };

  const serve = await segueCommand(['serve'], { SEGUE_DATA_DIR: dataDir });
  assert.equal(serve.code, 1);
  assert.match(serve.stderr, /segue serve .*set SEGUE_URL_SIGNING_SECRET and SEGUE_PUBLIC_URL/);
  const worker = await segueCommand(['worker'], { SEGUE_DATA_DIR: dataDir, SEGUE_URL_SIGNING_SECRET: SIGNING_SECRET });
  assert.equal(worker.code, 1);
  assert.match(worker.stderr, /segue worker .*set SEGUE_PUBLIC_URL \(/);
  const unknown = await segueCommand(['worker', '--kinds', 'task.start,task.teleport'], shared);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /--kinds names unknown job kind\(s\) task\.teleport; the job kinds are task\.start, task\.poll/);
  const fromEnvironment = await segueCommand(['worker'], { ...shared, SEGUE_WORKER_KINDS: 'render' });
  assert.match(fromEnvironment.stderr, /SEGUE_WORKER_KINDS names unknown job kind\(s\) render/);
  assert.equal(fs.existsSync(path.join(dataDir, 'segue.db')), false, 'refused before opening anything');
});

for (const dialect of DIALECTS) {
  test(`two segue serve and one segue worker --kinds on one ${dialect.name} database: tasks finish through the worker; rate limit, breaker and metrics are shared`, { skip: dialect.skip, timeout: 240_000 }, async () => {
    const database = await dialect.create();
    cleanups.push(() => database.drop());
    // Media stays on the file system here, so every process shares the data directory (SQLite's too).
    const dataDir = dialect.name === 'sqlite' ? database.location : temporaryDirectory('segue-apart-');
    if (dialect.name !== 'sqlite') cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    const fake = await startFakeGemini({ pollsUntilDone: 1 });
    cleanups.push(() => fake.close());
    const [portA, portB] = [await freePort(), await freePort()];
    const environment = {
      ...(dialect.name === 'postgres' ? { SEGUE_DATABASE_URL: database.location } : {}),
      SEGUE_URL_SIGNING_SECRET: SIGNING_SECRET,
      // Both API processes behind one address, as behind a load balancer.
      SEGUE_PUBLIC_URL: `http://127.0.0.1:${portA}`,
      SEGUE_PROVIDERS: writeProvidersFile(fake.url, { breakerThreshold: 2, breakerCooldownSeconds: 600 }, { '*': ['google'] }),
      SEGUE_TEST_GEMINI_KEY: FAKE_GEMINI_KEY,
      SEGUE_ALLOW_PRIVATE_NETWORKS: 'true',
      SEGUE_BOOTSTRAP_KEY: BOOTSTRAP_KEY,
      SEGUE_ADMIN_KEY: ADMIN_KEY,
      SEGUE_RATE_LIMIT: 'off',
      SEGUE_WORKER_POLL_MS: '100',
    };
    const apiA = new SegueProcess({ port: portA, dataDir, environment, command: [segueScripts.cli, 'serve'], name: 'api-a' });
    const apiB = new SegueProcess({ port: portB, dataDir, environment, command: [segueScripts.cli, 'serve'], name: 'api-b' });
    const worker = new SegueProcess({
      dataDir,
      environment,
      command: [segueScripts.cli, 'worker', '--kinds', 'task.start,task.poll,task.ingest'],
      name: 'worker',
      ready: { logIncludes: '"msg":"worker started"' },
    });
    cleanups.push(() => apiA.stop(), () => apiB.stop(), () => worker.stop());
    // All at once: each migrates under the database's lock and ensures the one bootstrap key.
    for (const started of [apiA, apiB, worker]) started.start();
    await Promise.all([apiA.whenUp(), apiB.whenUp(), worker.whenUp()]);

    const veoA = new VeoClient(apiA.baseUrl, BOOTSTRAP_KEY);
    const generated = await veoA.post('/api/v1/veo/generate', { prompt: 'a lighthouse at dusk', model: 'veo3_fast' });
    assert.equal(generated.code, 200);
    const universal = await fetch(`${apiB.baseUrl}/v2/video/generations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOOTSTRAP_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'google/veo-3.1-t2v-fast', prompt: 'waves on rocks' }),
    });
    const universalId = ((await universal.json()) as { id: string }).id;
    const done = await veoA.waitUntilDone(generated.data.taskId);
    assert.equal(done.successFlag, 1);
    const video = await fetch(done.response.resultUrls[0]);
    assert.equal(video.status, 200, 'the worker\'s result is served by the API through the shared secret and store');
    await video.arrayBuffer();
    await waitFor('the universal generation, read through the other API process', async () => {
      const answer = await fetch(`${apiB.baseUrl}/v2/video/generations?generation_id=${universalId}`, { headers: { authorization: `Bearer ${BOOTSTRAP_KEY}` } });
      const body = (await answer.json()) as { status: string };
      assert.notEqual(body.status, 'error');
      return body.status === 'completed';
    }, { timeoutMs: 120_000, intervalMs: 200 });
    const logs = { a: fs.readFileSync(apiA.logFile, 'utf8'), b: fs.readFileSync(apiB.logFile, 'utf8'), worker: fs.readFileSync(worker.logFile, 'utf8') };
    assert.equal((logs.worker.match(/"msg":"task started"/g) ?? []).length, 2, 'the worker started both tasks');
    for (const api of [logs.a, logs.b]) assert.doesNotMatch(api, /"msg":"(task started|worker started)"/, 'an API process runs no jobs');

    // The rate limit: one window per key for both API processes.
    const issued = await fetch(`${apiA.baseUrl}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'limited', credits: 100_000, rateLimit: '3/1h' }),
    });
    const limitedKey = ((await issued.json()) as { key: string }).key;
    const answers: Array<{ code: number; taskId?: string; retryAfter: string | null }> = [];
    for (const base of [apiA.baseUrl, apiB.baseUrl, apiA.baseUrl, apiB.baseUrl, apiA.baseUrl]) {
      const answer = await fetch(`${base}/api/v1/veo/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${limitedKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'counted', model: 'veo3_fast' }),
      });
      const body = (await answer.json()) as { code: number; data: { taskId?: string } | null };
      answers.push({ code: body.code, ...(body.data?.taskId ? { taskId: body.data.taskId } : {}), retryAfter: answer.headers.get('retry-after') });
    }
    assert.deepEqual(answers.map((answer) => answer.code), [200, 200, 200, 429, 429], 'three creates in the hour, across both processes');
    assert.ok(Number(answers[3]!.retryAfter) > 3_500, `Retry-After until the first leaves the hour (${answers[3]!.retryAfter})`);
    const limited = new VeoClient(apiB.baseUrl, limitedKey);
    for (const { taskId } of answers.slice(0, 3)) assert.equal((await limited.waitUntilDone(taskId!)).successFlag, 1);

    // The breaker: the worker's failures open it; the other processes see it open.
    await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ failCreates: { status: 503, remaining: -1 } }) });
    for (const prompt of ['refused once', 'refused twice']) assert.equal((await veoA.post('/api/v1/veo/generate', { prompt, model: 'veo3' })).code, 200);
    const ready = await waitFor('API process B to report the breaker the worker opened', async () => {
      const report = (await (await fetch(`${apiB.baseUrl}/readyz`)).json()) as { status: string; providers: Record<string, { breaker: string; lastFailure?: string }> };
      return report.providers['google']?.breaker === 'open' ? report : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    assert.equal(ready.status, 'ready');
    assert.match(ready.providers['google']!.lastFailure ?? '', /503/);

    // Metrics, from the API process that ran nothing: the worker's breaker, the queue it left.
    assert.equal((await fetch(`${apiA.baseUrl}/metrics`)).status, 401);
    const metrics = await (await fetch(`${apiA.baseUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).text();
    assert.match(metrics, /^segue_provider_breaker_state\{entry="google",state="open"\} 1$/m);
    assert.match(metrics, /^segue_jobs\{kind="maintenance\.sweep",state="queued"\} 1$/m, 'no process runs maintenance.sweep here');
    assert.match(metrics, /^segue_job_oldest_due_age_seconds\{kind="maintenance\.sweep"\} [1-9][\d.]*$/m, 'and it is overdue');
    assert.match(metrics, /^segue_tasks\{state="running",provider="google"\} 2$/m, 'the two refused tasks hold their slots, waiting out the breaker');
    assert.match(metrics, /^segue_provider_slots_in_use\{entry="google"\} 2$/m);
    assert.match(metrics, /^segue_process_uptime_seconds \d/m);

    // Draining: SIGTERM, and the worker exits on its own within the grace.
    await worker.stop(20_000);
    assert.match(fs.readFileSync(worker.logFile, 'utf8'), /"signal":"SIGTERM".*shutting down/);
  });
}
