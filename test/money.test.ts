import assert from 'node:assert/strict';
import { jobRequest } from '../src/jobs/job-kinds.js';
import { systemClock } from '../src/ports/clock.js';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { pollTask } from '../src/engine/runner/task-jobs.js';
import { TaskBatchReader } from '../src/engine/runner/task-batch-reader.js';
import { renderManifestKey } from '../src/providers/local/render-manifest.js';
import { defaultProviders } from '../src/providers/providers-file.js';
import { ProviderRegistry } from '../src/engine/routing/provider-registry.js';
import { LocalProvider } from '../src/providers/local/local-provider.js';
import { FsBlobStore } from '../src/blobs/fs-blob-store.js';
import { pino } from 'pino';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { storedResult, succeedQueuedTask } from './helpers/terminal-tasks.js';
import { waitFor } from './helpers/wait-for.js';

const harnesses: TestSegue[] = [];
after(async () => {
  for (const harness of harnesses) await harness.close();
});

async function segueWith(environment: Record<string, string> = {}) {
  const harness = await startTestSegue({ runWorker: false, environment });
  harnesses.push(harness);
  return harness;
}

async function veo(harness: TestSegue, url: string, body: unknown, key: string, method: 'POST' | 'GET' = 'POST') {
  const response = await harness.segue.http.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(method === 'POST' ? { payload: JSON.stringify(body) } : {}),
  });
  return { headers: response.headers, body: response.json() as { code: number; msg: string; data: any } };
}

const fastVideoPrice = 8 * 8;
const ADMIN_KEY = 'admin-key-0123456789';

/** A call to the admin API (JSON only when there is a body: Fastify refuses an empty JSON body). */
function asAdmin(harness: TestSegue, method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, key = ADMIN_KEY) {
  return harness.segue.http.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { payload: JSON.stringify(body) } : {}),
  });
}
const ledgerOf = async (harness: TestSegue, apiKeyId: string) =>
  harness.segue.storage.ledger.history(apiKeyId, 10_000);

test('200 concurrent creations against a balance for exactly 73: 73 accepted, 127 refused with 402, 0 left after they settle', async () => {
  const harness = await segueWith();
  const issued = await harness.segue.keys.create('tight budget', 73 * fastVideoPrice);
  await harness.segue.keys.setLimits(issued.id, { rateLimit: '1000/1s', maxUnfinishedTasks: 1000 });
  const replies = await Promise.all(
    Array.from({ length: 200 }, (_, index) => veo(harness, '/api/v1/veo/generate', { prompt: `clip ${index}` }, issued.key)),
  );
  const accepted = replies.filter((reply) => reply.body.code === 200);
  const refused = replies.filter((reply) => reply.body.code === 402);
  assert.equal(accepted.length, 73);
  assert.equal(refused.length, 127);
  assert.match(refused[0]!.body.msg, /Insufficient credits/);
  assert.equal(await harness.segue.keys.balance(issued.id), 0);
  const universal = await harness.segue.http.inject({
    method: 'POST',
    url: '/v2/video/generations',
    headers: { authorization: `Bearer ${issued.key}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ model: 'google/veo-3.1-t2v-fast', prompt: 'one more' }),
  });
  assert.equal(universal.statusCode, 403);
  assert.match(universal.json().message, /run out of credits/);

  for (const reply of accepted) await succeedQueuedTask(harness.segue.storage, reply.body.data.taskId);
  assert.equal(await harness.segue.keys.balance(issued.id), 0);
  const entries = await ledgerOf(harness, issued.id);
  const count = (kind: string) => entries.filter((entry) => entry.kind === kind).length;
  assert.deepEqual([count('grant'), count('hold'), count('capture'), count('release')], [1, 73, 73, 0]);
  assert.equal(entries.reduce((sum, entry) => sum + entry.amount, 0), 0, 'the ledger sums to the balance');
  assert.equal(await harness.segue.storage.ledger.ledgerSum(issued.id), await harness.segue.keys.balance(issued.id));
  const tasks = await harness.segue.storage.tasks.listByState('succeeded', 1000);
  assert.equal(tasks.filter((task) => task.apiKeyId === issued.id).length, 73, 'no task was created for a refusal');
});

/** Writes a script that fails the given tasks through the real lifecycle, in its own process. */
function failingScript(dataDir: string): string {
  const script = path.join(dataDir, 'fail-all.mjs');
  const distribution = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
  fs.writeFileSync(
    script,
    `import { openStorage } from '${distribution}/src/storage/open-storage.js';
     import { TaskLifecycle } from '${distribution}/src/engine/lifecycle/task-lifecycle.js';
     const storage = await openStorage({ dataDir: process.argv[2] });
     const lifecycle = new TaskLifecycle(storage);
     process.send('started');
     for (const id of JSON.parse(process.argv[3])) await lifecycle.fail(id, { stage: 'generation', reason: 'internal', message: 'x' });
     await storage.close();
     process.send('finished');`,
  );
  return script;
}

async function runningTasks(harness: TestSegue, key: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    const taskId = (await veo(harness, '/api/v1/veo/generate', { prompt: `t${index}` }, key)).body.data.taskId;
    await harness.segue.storage.tasks.transition(taskId, 'queued', { to: 'running', at: Date.now() });
    ids.push(taskId);
  }
  return ids;
}

test('failing tasks release their holds exactly once, even when two worker processes race on them', async () => {
  const harness = await segueWith();
  const issued = await harness.segue.keys.create('racer', 10_000);
  await harness.segue.keys.setLimits(issued.id, { rateLimit: '1000/1s', maxUnfinishedTasks: 1000 });
  const ids = await runningTasks(harness, issued.key, 40);
  const { fork } = await import('node:child_process');
  const script = failingScript(harness.dataDir);
  const workers = [fork(script, [harness.dataDir, JSON.stringify(ids)], { stdio: 'ignore' }), fork(script, [harness.dataDir, JSON.stringify([...ids].reverse())], { stdio: 'ignore' })];
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve))));
  const entries = await ledgerOf(harness, issued.id);
  for (const id of ids) {
    assert.deepEqual(entries.filter((entry) => entry.taskId === id).map((entry) => entry.kind).sort(), ['hold', 'release'], id);
  }
  assert.equal(await harness.segue.keys.balance(issued.id), 10_000);
  assert.equal(await harness.segue.storage.ledger.ledgerSum(issued.id), 10_000);
  await assert.rejects(
    harness.segue.storage.ledger.append({ apiKeyId: issued.id, kind: 'release', amount: fastVideoPrice, taskId: ids[0]! }),
    'the database itself refuses a second release',
  );
});

test('a process killed while failing tasks never leaves a failure without its release', async () => {
  const harness = await segueWith();
  const issued = await harness.segue.keys.create('crashy', 100_000);
  await harness.segue.keys.setLimits(issued.id, { rateLimit: '1000/1s', maxUnfinishedTasks: 1000 });
  const ids = await runningTasks(harness, issued.key, 120);
  const { fork } = await import('node:child_process');
  const child = fork(failingScript(harness.dataDir), [harness.dataDir, JSON.stringify(ids)], { stdio: 'ignore' });
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  // Let it fail some tasks, then kill it mid-stream for real.
  await waitFor('20 failed tasks', async () => (await harness.segue.storage.tasks.listByState('failed', 1000)).length >= 20, { intervalMs: 2 });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));

  const failed = new Set((await harness.segue.storage.tasks.listByState('failed', 1000)).map((task) => task.id));
  assert.ok(failed.size >= 20 && failed.size < ids.length, `killed part-way (${failed.size} of ${ids.length} failed)`);
  const released = new Set((await ledgerOf(harness, issued.id)).filter((entry) => entry.kind === 'release').map((entry) => entry.taskId));
  assert.deepEqual([...released].sort(), [...failed].sort(), 'every failed task has its release, and only those');
  assert.equal(await harness.segue.keys.balance(issued.id), 100_000 - (ids.length - failed.size) * fastVideoPrice);
  assert.equal(await harness.segue.storage.ledger.ledgerSum(issued.id), await harness.segue.keys.balance(issued.id), 'the running balance matches the ledger');
});

test('rate limit: 429 with Retry-After after 20 creations in 10 s; refused validations do not count', async () => {
  const harness = await segueWith({ SEGUE_RATE_LIMIT: '20/10s' });
  for (let index = 0; index < 25; index++) {
    assert.equal((await veo(harness, '/api/v1/veo/generate', { prompt: '' }, harness.key)).body.code, 422);
  }
  for (let index = 0; index < 20; index++) {
    assert.equal((await veo(harness, '/api/v1/veo/generate', { prompt: `ok ${index}` }, harness.key)).body.code, 200, `creation ${index}`);
  }
  const limited = await veo(harness, '/api/v1/veo/generate', { prompt: 'one too many' }, harness.key);
  assert.equal(limited.body.code, 429);
  assert.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 10);
  const universal = await harness.segue.http.inject({
    method: 'POST',
    url: '/v2/video/generations',
    headers: harness.headers,
    payload: JSON.stringify({ model: 'google/veo-3.1-t2v-fast', prompt: 'x' }),
  });
  assert.equal(universal.statusCode, 429);
  assert.ok(universal.headers['retry-after']);
  assert.equal((await veo(harness, '/api/v1/chat/credit', null, harness.key, 'GET')).body.code, 200, 'reads are limited separately');
});

test('read limit, unfinished-task cap, maintenance and feature switches', async () => {
  const harness = await segueWith({ SEGUE_READ_RATE_LIMIT: '5/10s', SEGUE_ADMIN_KEY: ADMIN_KEY });
  for (let index = 0; index < 5; index++) assert.equal((await veo(harness, '/api/v1/chat/credit', null, harness.key, 'GET')).body.code, 200);
  const readLimited = await veo(harness, '/api/v1/chat/credit', null, harness.key, 'GET');
  assert.equal(readLimited.body.code, 429);
  assert.ok(readLimited.headers['retry-after']);

  const capped = await harness.segue.keys.create('capped', 10_000);
  await harness.segue.keys.setLimits(capped.id, { rateLimit: null, maxUnfinishedTasks: 2 });
  assert.equal((await veo(harness, '/api/v1/veo/generate', { prompt: 'a' }, capped.key)).body.code, 200);
  const first = (await veo(harness, '/api/v1/veo/generate', { prompt: 'b' }, capped.key)).body;
  assert.equal(first.code, 200);
  const third = await veo(harness, '/api/v1/veo/generate', { prompt: 'c' }, capped.key);
  assert.equal(third.body.code, 429);
  assert.match(third.body.msg, /2 tasks are already unfinished/);
  assert.equal(await harness.segue.keys.balance(capped.id), 10_000 - 2 * fastVideoPrice, 'nothing held for the refusal');

  const admin = (method: 'GET' | 'PUT', url: string, body?: unknown) => asAdmin(harness, method, url, body);
  assert.equal((await admin('PUT', '/admin/service', { maintenance: true })).statusCode, 200);
  const closed = await veo(harness, '/api/v1/veo/generate', { prompt: 'x' }, capped.key);
  assert.equal(closed.body.code, 455);
  const closedV2 = await harness.segue.http.inject({ method: 'POST', url: '/v2/video/generations', headers: { authorization: `Bearer ${capped.key}`, 'content-type': 'application/json' }, payload: JSON.stringify({ model: 'google/veo-3.1-t2v', prompt: 'x' }) });
  assert.equal(closedV2.statusCode, 503);
  assert.equal((await veo(harness, `/api/v1/veo/record-info?taskId=${first.data.taskId}`, null, capped.key, 'GET')).body.code, 200, 'reads keep working');

  assert.deepEqual((await admin('PUT', '/admin/service', { maintenance: false, disabledFeatures: ['extend'] })).json(), { maintenance: false, disabledFeatures: ['extend'] });
  const extension = await veo(harness, '/api/v1/veo/extend', { taskId: first.data.taskId, prompt: 'x' }, harness.key);
  assert.equal(extension.body.code, 404, 'a foreign task stays unknown');
  const blocked = await harness.segue.http.inject({ method: 'POST', url: '/v2/video/generations', headers: harness.headers, payload: JSON.stringify({ model: 'google/veo3-1-extend-video', prompt: 'x', video_url: 'https://93.184.215.14/v.mp4' }) });
  assert.equal(blocked.statusCode, 503);
  assert.match(blocked.json().message, /extend\) is currently disabled/);
  assert.equal((await admin('PUT', '/admin/service', { disabledFeatures: [] })).statusCode, 200);
});

test('the environment switches: SEGUE_MAINTENANCE and SEGUE_DISABLED_FEATURES', async () => {
  const closed = await segueWith({ SEGUE_MAINTENANCE: 'true' });
  assert.equal((await veo(closed, '/api/v1/veo/generate', { prompt: 'x' }, closed.key)).body.code, 455);
  const noGenerate = await segueWith({ SEGUE_DISABLED_FEATURES: 'generate' });
  const reply = await veo(noGenerate, '/api/v1/veo/generate', { prompt: 'x' }, noGenerate.key);
  assert.equal(reply.body.code, 505);
});

test('content policy: blocklist and English-only refusals, with nothing held and no task created', async () => {
  const directory = temporaryDirectory();
  const blocklist = path.join(directory, 'blocklist.txt');
  fs.writeFileSync(blocklist, '# refused\nforbidden thing\nbadword\n');
  const harness = await segueWith({ SEGUE_PROMPT_BLOCKLIST: blocklist, SEGUE_ENGLISH_ONLY: 'true' });
  const key = (await harness.segue.keys.authenticate(harness.key))!;
  const before = await harness.segue.keys.balance(key.id);
  const cases: Array<[string, string]> = [
    ['A FORBIDDEN   thing in the park', 'Your prompt was flagged by Website as violating content policies.'],
    ['some badword here', 'Your prompt was flagged by Website as violating content policies.'],
    ['一只猫在公园里奔跑', 'Only English prompts are supported at this time.'],
    ['Un perro corre en el parque con la pelota', 'Only English prompts are supported at this time.'],
  ];
  for (const [prompt, message] of cases) {
    const reply = await veo(harness, '/api/v1/veo/generate', { prompt, enableTranslation: true }, harness.key);
    assert.deepEqual([reply.body.code, reply.body.msg], [400, message], prompt);
  }
  assert.equal((await veo(harness, '/api/v1/veo/generate', { prompt: 'The badwordsmith forges a sword in the rain' }, harness.key)).body.code, 200, 'whole words only');
  const universal = await harness.segue.http.inject({ method: 'POST', url: '/v2/video/generations', headers: harness.headers, payload: JSON.stringify({ model: 'google/veo-3.1-t2v-fast', prompt: 'badword' }) });
  assert.equal(universal.statusCode, 400);
  assert.equal(universal.json().message, 'Your prompt was flagged by Website as violating content policies.');
  assert.equal(await harness.segue.keys.balance(key.id), before - fastVideoPrice, 'only the accepted task holds credits');
  fs.rmSync(directory, { recursive: true, force: true });
});

test('revoked keys get 401 at once; rotated keys keep their account; admin routes need the admin key', async () => {
  const harness = await segueWith({ SEGUE_ADMIN_KEY: ADMIN_KEY });
  const admin = (method: 'GET' | 'POST', url: string, key = ADMIN_KEY, body?: unknown) => asAdmin(harness, method, url, body, key);
  assert.equal((await admin('GET', '/admin/keys', harness.key)).statusCode, 401, 'a normal key is not an admin');
  assert.equal((await admin('GET', '/admin/keys', 'wrong-admin-key-000')).statusCode, 401);

  const created = (await admin('POST', '/admin/keys', undefined, { name: 'tenant', credits: 300 })).json();
  assert.equal((await veo(harness, '/api/v1/chat/credit', null, created.key, 'GET')).body.data, 300);
  const rotated = (await admin('POST', `/admin/keys/${created.id}/rotate`)).json();
  assert.equal((await veo(harness, '/api/v1/chat/credit', null, created.key, 'GET')).body.code, 401, 'the old value stops at once');
  assert.equal((await veo(harness, '/api/v1/chat/credit', null, rotated.key, 'GET')).body.data, 300, 'same account');

  assert.equal((await admin('POST', `/admin/keys/${created.id}/credits`, undefined, { amount: 50, note: 'bonus' })).json().balance, 350);
  assert.equal((await admin('POST', `/admin/keys/${created.id}/credits`, undefined, { amount: -1000 })).statusCode, 400, 'never below zero');
  const huge = Number.MAX_SAFE_INTEGER;
  const overflow = await admin('POST', `/admin/keys/${created.id}/credits`, undefined, { amount: huge });
  assert.equal(overflow.statusCode, 400, 'a grant that would leave the safe-integer range is refused');
  assert.match(overflow.json().error ?? overflow.body, /cannot go above 9007199254740991/);
  assert.equal((await veo(harness, '/api/v1/chat/credit', null, rotated.key, 'GET')).body.data, 350, 'the balance stayed exact');
  const ledger = (await admin('GET', `/admin/keys/${created.id}/ledger`)).json().entries;
  assert.deepEqual(ledger.map((entry: { kind: string; amount: number }) => [entry.kind, entry.amount]), [['grant', 50], ['grant', 300]]);

  assert.equal((await admin('POST', `/admin/keys/${created.id}/revoke`)).statusCode, 200);
  assert.equal((await veo(harness, '/api/v1/chat/credit', null, rotated.key, 'GET')).body.code, 401);
  const listed = (await admin('GET', '/admin/keys')).json().keys;
  assert.ok(listed.every((key: Record<string, unknown>) => !('webhookSecret' in key) && !('key' in key)), 'no secrets in listings');

  const noAdmin = await segueWith();
  assert.equal((await noAdmin.segue.http.inject({ url: '/admin/keys', headers: { authorization: 'Bearer anything-at-all-000' } })).statusCode, 404);
});

test('a timed-out task is reconciled, not refunded: a late success is charged; an operator can settle', async () => {
  const harness = await segueWith({ SEGUE_ADMIN_KEY: ADMIN_KEY });
  const key = (await harness.segue.keys.authenticate(harness.key))!;
  const blobs = new FsBlobStore(path.join(harness.dataDir, 'blobs'));
  const providers = new ProviderRegistry(
    { local: { provider: new LocalProvider((taskId) => harness.segue.storage.jobs.enqueue(jobRequest('local.render', { taskId })), blobs), limits: defaultProviders.providers['local']! } },
    defaultProviders.routes,
    harness.segue.storage.gates,
  );
  const deps = {
    storage: harness.segue.storage,
    providers,
    lifecycle: harness.segue.lifecycle,
    taskTimeoutMs: 0,
    clock: systemClock,
    pollReads: new TaskBatchReader(harness.segue.storage.tasks),
  };
  const context = { jobId: 'j', workerId: 'w', attempt: 1, signal: new AbortController().signal, logger: pino({ level: 'silent' }) };
  const start = async () => {
    const taskId = (await veo(harness, '/api/v1/veo/generate', { prompt: 'slow upstream' }, harness.key)).body.data.taskId as string;
    await harness.segue.storage.tasks.transition(taskId, 'queued', { to: 'running', at: Date.now() - 1000 });
    await harness.segue.storage.tasks.saveProviderHandle(taskId, { manifestKey: renderManifestKey(taskId) });
    assert.ok(await pollTask(deps, { taskId }, context), 'still pending: poll again later');
    assert.equal((await harness.segue.storage.tasks.findById(taskId))?.state, 'reconciling');
    const info = await veo(harness, `/api/v1/veo/record-info?taskId=${taskId}`, null, harness.key, 'GET');
    assert.equal(info.body.data.successFlag, 0, 'clients still see it generating');
    return taskId;
  };
  const kinds = async (taskId: string) => (await ledgerOf(harness, key.id)).filter((entry) => entry.taskId === taskId).map((entry) => entry.kind).sort();

  const late = await start();
  await blobs.putJson(renderManifestKey(late), {
    status: 'succeeded',
    result: storedResult(late),
    details: {},
  });
  await pollTask(deps, { taskId: late }, context);
  assert.equal((await harness.segue.storage.tasks.findById(late))?.state, 'succeeded');
  assert.deepEqual(await kinds(late), ['capture', 'hold']);

  const stuck = await start();
  const settle = await asAdmin(harness, 'POST', `/admin/tasks/${stuck}/settle`, { outcome: 'refund' });
  assert.deepEqual(settle.json(), { settled: true, outcome: 'refund' });
  assert.equal((await harness.segue.storage.tasks.findById(stuck))?.state, 'failed');
  assert.deepEqual(await kinds(stuck), ['hold', 'release']);
  assert.equal(settle.statusCode, 200);
});

test('SEGUE_PRICES replaces the price table; a bad file stops start-up naming it', async () => {
  const directory = temporaryDirectory();
  const prices = path.join(directory, 'prices.json');
  fs.writeFileSync(prices, JSON.stringify({ perSecond: { veo3_fast: { generate: 1, extend: 2 } }, upgradePerSecond: { '1080p': 1, '4k': 2 } }));
  const harness = await segueWith({ SEGUE_PRICES: prices });
  const taskId = (await veo(harness, '/api/v1/veo/generate', { prompt: 'cheap' }, harness.key)).body.data.taskId;
  assert.equal((await harness.segue.storage.tasks.findById(taskId))?.price, 8);
  const unpriced = await veo(harness, '/api/v1/veo/generate', { prompt: 'x', model: 'veo3' }, harness.key);
  assert.deepEqual([unpriced.body.code, unpriced.body.msg], [422, 'model veo3 has no price for generate on this server']);
  fs.writeFileSync(prices, '{"perSecond": 5}');
  await assert.rejects(startTestSegue({ environment: { SEGUE_PRICES: prices } }), /SEGUE_PRICES/);
  fs.rmSync(directory, { recursive: true, force: true });
});

test('a video handed in as a data: URI is not kept when its task is refused', async () => {
  const harness = await segueWith();
  const broke = await harness.segue.keys.create('broke', 1);
  const clip = path.join(harness.dataDir, 'clip.mp4');
  const { media } = await import('./helpers/media-checks.js');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=24:d=1', '-c:v', 'libx264', '-preset', 'ultrafast', clip]);
  const reply = await harness.segue.http.inject({
    method: 'POST',
    url: '/v2/video/generations',
    headers: { authorization: `Bearer ${broke.key}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ model: 'google/veo3-1-extend-video', prompt: 'x', video_url: `data:video/mp4;base64,${fs.readFileSync(clip).toString('base64')}` }),
  });
  assert.equal(reply.statusCode, 403);
  const imports = path.join(harness.dataDir, 'blobs', 'imports');
  const left = fs.existsSync(imports) ? fs.readdirSync(imports).flatMap((directory) => fs.readdirSync(path.join(imports, directory))) : [];
  assert.deepEqual(left, [], 'no orphaned upload');
});
