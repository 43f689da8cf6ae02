import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestSegue, type TestSegue } from './helpers/test-segue.js';
import { endTask, taskFixture } from './helpers/terminal-tasks.js';

/*
 * The dashboard's JSON API over a real Segue (SQLite, no worker: tasks are stored and ended
 * through the real stores and lifecycle). A tenant sees its own tasks and nothing of another's;
 * the admin key sees every key's. Static pages answer with their security headers.
 */

const ADMIN_KEY = 'admin-key-dashboard-0123456789';
let harness: TestSegue;
let second: string;
let secondId: string;
let firstId: string;
/** first's chain: a generation, its extension, and the extension's extension; plus a failed task. */
let chain: string[];
let failedId: string;
let deliveryId: string;

const as = (key: string) => ({ authorization: `Bearer ${key}` });
async function get(url: string, key: string) {
  const response = await harness.segue.http.inject({ method: 'GET', url, headers: as(key) });
  return { status: response.statusCode, body: response.json() as any };
}

before(async () => {
  harness = await startTestSegue({ runWorker: false, environment: { SEGUE_ADMIN_KEY: ADMIN_KEY } });
  const { storage, keys } = harness.segue;
  firstId = (await keys.require(harness.key)).id;
  const issued = await keys.create('second tenant', 500);
  second = issued.key;
  secondId = issued.id;
  const root = await endTask(storage, firstId, 'http://127.0.0.1:9/callback');
  const extension = taskFixture({ apiKeyId: firstId, operation: 'extend', parentTaskId: root.id, rootTaskId: root.id, createdAt: Date.now() + 1 });
  await storage.tasks.insert(extension);
  const further = taskFixture({ apiKeyId: firstId, operation: 'extend', parentTaskId: extension.id, rootTaskId: root.id, state: 'queued', startedAt: null, createdAt: Date.now() + 2 });
  await storage.tasks.insert(further);
  chain = [root.id, extension.id, further.id];
  failedId = (await endTask(storage, firstId, 'http://127.0.0.1:9/callback', 'fail')).id;
  // The second tenant's only task.
  await storage.tasks.insert(taskFixture({ apiKeyId: secondId, parameters: { ...taskFixture({ apiKeyId: secondId }).parameters, prompt: 'second tenant video' } }));
  const [delivery] = await storage.callbacks.listForTask(root.id);
  assert.ok(delivery, 'the succeeded task owes a callback');
  deliveryId = delivery.id;
  // Let the delivery finish (exhausted), as a run of attempts would leave it: only then may it be sent again.
  await storage.callbacks.recordAttempt(deliveryId, {
    state: 'exhausted',
    nextAttemptAt: null,
    attempt: { round: 1, number: 1, attemptedAt: Date.now(), statusCode: 500, latencyMs: 12, error: null, responsePreview: 'boom' },
  });
});

after(async () => {
  await harness.close();
});

test('without a known key the dashboard API answers 401 with {error}', async () => {
  for (const headers of [{}, as('sk-segue-not-a-key-at-all-0000')]) {
    const response = await harness.segue.http.inject({ method: 'GET', url: '/dashboard/api/tasks', headers });
    assert.equal(response.statusCode, 401);
    assert.deepEqual(response.json(), { error: 'sign in with an API key or the admin key' });
  }
});

test('a tenant sees its own tasks, newest first, with state, progress, provider and links', async () => {
  const session = await get('/dashboard/api/session', harness.key);
  assert.equal(session.body.role, 'tenant');
  assert.equal(session.body.key.id, firstId);
  const { status, body } = await get('/dashboard/api/tasks', harness.key);
  assert.equal(status, 200);
  assert.deepEqual(body.tasks.map((task: any) => task.id).sort(), [...chain, failedId].sort());
  assert.ok(body.tasks.every((task: any) => task.apiKeyId === firstId));
  const root = body.tasks.find((task: any) => task.id === chain[0]);
  assert.equal(root.state, 'succeeded');
  assert.equal(root.progress, 100);
  assert.equal(root.provider, 'local');
  assert.match(root.result.videoUrl, /\/files\/tasks\/.*video\.mp4\?expires=\d+&signature=/);
  assert.match(root.result.posterUrl, /poster\.jpg\?/);
  const createdAt = body.tasks.map((task: any) => Date.parse(task.createdAt));
  assert.deepEqual(createdAt, [...createdAt].sort((a, b) => b - a), 'newest first');
});

test('filters: state (running includes reconciling), operation, and paging with next', async () => {
  const failed = await get('/dashboard/api/tasks?state=failed', harness.key);
  assert.deepEqual(failed.body.tasks.map((task: any) => task.id), [failedId]);
  const unfinished = await get('/dashboard/api/tasks?state=unfinished', harness.key);
  assert.deepEqual(unfinished.body.tasks.map((task: any) => task.id).sort(), [chain[1], chain[2]].sort());
  const extensions = await get('/dashboard/api/tasks?operation=extend', harness.key);
  assert.deepEqual(extensions.body.tasks.map((task: any) => task.id).sort(), [chain[1], chain[2]].sort());
  const first = await get('/dashboard/api/tasks?limit=2', harness.key);
  assert.equal(first.body.tasks.length, 2);
  assert.ok(first.body.next);
  const rest = await get(`/dashboard/api/tasks?limit=10&after=${first.body.next}`, harness.key);
  assert.equal(rest.body.next, null);
  assert.equal(new Set([...first.body.tasks, ...rest.body.tasks].map((task: any) => task.id)).size, 4);
  const bad = await get('/dashboard/api/tasks?state=sleeping', harness.key);
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /^state: /);
});

test('lineage: from any member, the whole chain oldest first', async () => {
  for (const member of chain) {
    const { status, body } = await get(`/dashboard/api/tasks/${member}/lineage`, harness.key);
    assert.equal(status, 200);
    assert.deepEqual(body.tasks.map((task: any) => task.id), chain, `lineage of ${member}`);
  }
});

test('a second tenant sees none of the first tenant’s tasks, lineage, callbacks or deliveries', async () => {
  const list = await get('/dashboard/api/tasks?limit=100', second);
  assert.equal(list.status, 200);
  assert.equal(list.body.tasks.length, 1);
  assert.equal(list.body.tasks[0].prompt, 'second tenant video');
  assert.ok(list.body.tasks.every((task: any) => task.apiKeyId === secondId));
  // Even when it names the first tenant's key as the filter.
  const named = await get(`/dashboard/api/tasks?keyId=${firstId}`, second);
  assert.ok(named.body.tasks.every((task: any) => task.apiKeyId === secondId));
  for (const url of [`/dashboard/api/tasks/${chain[0]}`, `/dashboard/api/tasks/${chain[0]}/lineage`, `/dashboard/api/tasks/${chain[0]}/callbacks`, `/dashboard/api/tasks?after=${chain[0]}`]) {
    const answer = await get(url, second);
    assert.equal(answer.status, 404, url);
    assert.deepEqual(answer.body, { error: 'no such task' });
  }
  const redeliver = await harness.segue.http.inject({ method: 'POST', url: `/dashboard/api/callbacks/${deliveryId}/redeliver`, headers: as(second) });
  assert.equal(redeliver.statusCode, 404);
  assert.equal((await harness.segue.storage.callbacks.find(deliveryId))!.state, 'exhausted', 'nothing was sent again');
  // Nor the admin routes.
  for (const url of ['/admin/keys', '/admin/providers']) assert.equal((await get(url, second)).status, 401, url);
});

test('callbacks with every attempt, and redelivery by the owner', async () => {
  const { body } = await get(`/dashboard/api/tasks/${chain[0]}/callbacks`, harness.key);
  assert.equal(body.deliveries.length, 1);
  const [delivery] = body.deliveries;
  assert.equal(delivery.state, 'exhausted');
  assert.deepEqual(
    delivery.attempts.map((attempt: any) => [attempt.round, attempt.number, attempt.statusCode, attempt.responsePreview]),
    [[1, 1, 500, 'boom']],
  );
  const redelivered = await harness.segue.http.inject({ method: 'POST', url: `/dashboard/api/callbacks/${deliveryId}/redeliver`, headers: as(harness.key) });
  assert.equal(redelivered.statusCode, 200);
  assert.equal(redelivered.json().delivery.state, 'pending');
  assert.equal(redelivered.json().delivery.round, 2);
});

test('a tenant’s account: balance and ledger; the operator has none of its own', async () => {
  const { body } = await get('/dashboard/api/account', second);
  assert.equal(body.balance, 500);
  assert.deepEqual(body.entries.map((entry: any) => [entry.kind, entry.amount, entry.note]), [['grant', 500, 'opening balance']]);
  assert.equal((await get('/dashboard/api/account', ADMIN_KEY)).status, 400);
});

test('the admin key sees every key’s tasks, can filter by key, and reads providers', async () => {
  const session = await get('/dashboard/api/session', ADMIN_KEY);
  assert.deepEqual(session.body, { role: 'operator', key: null });
  const all = await get('/dashboard/api/tasks?limit=100', ADMIN_KEY);
  assert.deepEqual(new Set(all.body.tasks.map((task: any) => task.apiKeyId)), new Set([firstId, secondId]));
  const ofSecond = await get(`/dashboard/api/tasks?keyId=${secondId}`, ADMIN_KEY);
  assert.deepEqual(ofSecond.body.tasks.map((task: any) => task.apiKeyId), [secondId]);
  assert.equal((await get(`/dashboard/api/tasks/${chain[2]}/lineage`, ADMIN_KEY)).body.tasks.length, 3);
  assert.equal((await get(`/dashboard/api/tasks/${chain[0]}/callbacks`, ADMIN_KEY)).body.deliveries.length, 1);

  const providers = await get('/admin/providers', ADMIN_KEY);
  assert.equal(providers.status, 200);
  const local = providers.body.providers.find((entry: any) => entry.entry === 'local');
  assert.ok(local, 'the local entry is reported');
  assert.equal(local.breaker, 'closed');
  // chain[1] runs on local; chain[2] waits there.
  assert.equal(local.slotsInUse, 1 + 1, 'the running extension and the second tenant’s running task');
  assert.equal(local.queued, 1);
  assert.ok(providers.body.jobs.some((kind: any) => kind.kind === 'task.start'));
});

test('the dashboard page and its files are served with a strict policy, same-origin only', async () => {
  const page = await harness.segue.http.inject({ method: 'GET', url: '/dashboard' });
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /^text\/html/);
  const csp = page.headers['content-security-policy'] as string;
  for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) {
    assert.ok(csp.split('; ').includes(directive), `${directive} in ${csp}`);
  }
  assert.match(csp, /media-src 'self' http:\/\/127\.0\.0\.1:0(;|$)/, 'media from where result links point');
  assert.equal(page.headers['cache-control'], 'no-store');
  assert.equal(page.headers['set-cookie'], undefined);
  // Links inside the page (`#/tasks`) aside, everything it loads comes from its own folder.
  const references = [...page.body.matchAll(/(?:src|href)="([^"#][^"]*)"/g)].map((match) => match[1]!);
  assert.ok(references.length >= 2);
  for (const reference of references) {
    assert.match(reference, /^\/dashboard\/assets\//);
    const asset = await harness.segue.http.inject({ method: 'GET', url: reference });
    assert.equal(asset.statusCode, 200, reference);
  }
  // Every module the page imports is served (a missing view would break the page only at run time).
  const app = await harness.segue.http.inject({ method: 'GET', url: '/dashboard/assets/app.js' });
  for (const [, module] of app.body.matchAll(/from '\.\/([^']+)'/g)) {
    assert.equal((await harness.segue.http.inject({ method: 'GET', url: `/dashboard/assets/${module}` })).statusCode, 200, module);
  }
  assert.equal((await harness.segue.http.inject({ method: 'GET', url: '/dashboard/assets/nothing.js' })).statusCode, 404);
});

test('a deleted task leaves its key’s lineage and reads', async () => {
  assert.equal(await harness.segue.storage.tasks.markDeleted(chain[2]!, firstId, Date.now()), true);
  assert.deepEqual((await get(`/dashboard/api/tasks/${chain[0]}/lineage`, harness.key)).body.tasks.map((task: any) => task.id), chain.slice(0, 2));
  assert.equal((await get(`/dashboard/api/tasks/${chain[2]}`, harness.key)).status, 404);
  assert.equal((await get(`/dashboard/api/tasks/${chain[2]}`, ADMIN_KEY)).status, 200, 'operators still find the row');
});
