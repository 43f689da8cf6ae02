import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TaskLifecycle } from '../src/engine/lifecycle/task-lifecycle.js';
import { startTestSegue, type TestSegue } from './helpers/test-segue.js';
import { succeedQueuedTask } from './helpers/terminal-tasks.js';

let harness: TestSegue;
let otherKey: string;

before(async () => {
  harness = await startTestSegue({ runWorker: false });
  otherKey = (await harness.segue.keys.create('other tenant', 1000)).key;
});
after(() => harness.close());

async function call(method: 'GET' | 'POST', url: string, body?: unknown, key: string | null = harness.key, rawBody?: string) {
  const response = await harness.segue.http.inject({
    method,
    url,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json' },
    ...(rawBody !== undefined ? { payload: rawBody } : body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  assert.equal(response.statusCode, 200, `${method} ${url} answers HTTP 200 with the envelope`);
  return response.json() as { code: number; msg: string; data: any };
}

async function generate(body: Record<string, unknown> = { prompt: 'a lighthouse at dusk' }, key = harness.key) {
  const reply = await call('POST', '/api/v1/veo/generate', body, key);
  assert.equal(reply.code, 200, reply.msg);
  return reply.data.taskId as string;
}

const markSucceeded = (taskId: string) => succeedQueuedTask(harness.segue.storage, taskId);

test('a missing or wrong key gets code 401 on every route', async () => {
  for (const key of [null, 'sk-wrong-key-0000000000']) {
    for (const [method, url] of [
      ['POST', '/api/v1/veo/generate'],
      ['POST', '/api/v1/veo/extend'],
      ['GET', '/api/v1/veo/record-info?taskId=x'],
      ['GET', '/api/v1/chat/credit'],
    ] as const) {
      const reply = await call(method, url, { prompt: 'x', taskId: 'x' }, key);
      assert.deepEqual(reply, { code: 401, msg: 'You do not have access permissions', data: null }, `${method} ${url}`);
    }
  }
});

test('generate accepts a task and record-info shows it generating', async () => {
  const taskId = await generate({ prompt: 'a lighthouse', aspect_ratio: '9:16', seed: 33333, extra: 'ignored', resolution: '1080p' });
  assert.match(taskId, /^[0-9a-f]{32}$/);
  const info = await call('GET', `/api/v1/veo/record-info?taskId=${taskId}`);
  assert.equal(info.code, 200);
  assert.equal(info.data.taskId, taskId);
  assert.equal(info.data.successFlag, 0);
  assert.equal(info.data.response, null);
  assert.equal(info.data.completeTime, null);
  assert.match(info.data.createTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(info.data.errorCode, null);
  assert.equal(info.data.fallbackFlag, false);
  assert.deepEqual(JSON.parse(info.data.paramJson), {
    prompt: 'a lighthouse',
    model: 'veo3_fast',
    generationType: 'TEXT_2_VIDEO',
    aspectRatio: '9:16',
    seeds: 33333,
    enableFallback: false,
    enableTranslation: true,
  });
  const stored = await harness.segue.storage.tasks.findById(taskId);
  assert.equal(stored?.seed, 33333);
  assert.equal(stored?.parameters.aspectRatio, '9:16');
});

test('validation failures are code 422 with a message naming the problem', async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{}, /prompt is required/],
    [{ prompt: 'x', seeds: 5 }, /seeds must be an integer between 10000 and 99999/],
    [{ prompt: 'x', seed: 123456 }, /seeds must be an integer between 10000 and 99999/],
    [{ prompt: 'x', model: 'sora' }, /model must be one of/],
    [{ prompt: 'x', aspectRatio: '1:1' }, /aspectRatio must be one of/],
    [{ prompt: 'x', generationType: 'VIDEO' }, /generationType must be one of/],
    [[1, 2], /JSON object/],
  ];
  for (const [body, message] of cases) {
    const reply = await call('POST', '/api/v1/veo/generate', body);
    assert.equal(reply.code, 422, JSON.stringify(body));
    assert.match(reply.msg, message);
  }
  for (const raw of ['{"prompt": ', 'prompt=hello', '']) {
    const reply = await call('POST', '/api/v1/veo/generate', undefined, harness.key, raw);
    assert.equal(reply.code, 422, `raw body ${JSON.stringify(raw)}`);
    assert.match(reply.msg, /JSON object/);
  }
});

test('a body without a JSON content type is still read as JSON', async () => {
  const response = await harness.segue.http.inject({
    method: 'POST',
    url: '/api/v1/veo/generate',
    headers: { authorization: `Bearer ${harness.key}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: '{"prompt":"sent by curl -d"}',
  });
  assert.equal(response.json().code, 200);
});

test('callback URLs must be http(s) and public unless private networks are allowed', async () => {
  for (const callBackUrl of ['ftp://example.com/x', 'http://127.0.0.1:9/cb', 'http://169.254.169.254/latest', 'http://10.0.0.5/cb', 'http://[::1]/cb', 'http://localhost/cb']) {
    const reply = await call('POST', '/api/v1/veo/generate', { prompt: 'x', callBackUrl });
    assert.equal(reply.code, 422, callBackUrl);
    assert.match(reply.msg, /^callBackUrl /);
  }
});

test('extend: unknown or foreign task is 404, unfinished or failed is 422', async () => {
  const unknown = await call('POST', '/api/v1/veo/extend', { taskId: 'f'.repeat(32), prompt: 'go on' });
  assert.equal(unknown.code, 404);
  const foreignTask = await generate({ prompt: 'theirs' }, otherKey);
  await markSucceeded(foreignTask);
  const foreign = await call('POST', '/api/v1/veo/extend', { taskId: foreignTask, prompt: 'go on' });
  assert.deepEqual(foreign, unknown, 'a foreign task is indistinguishable from an unknown one');

  const queued = await generate();
  const notDone = await call('POST', '/api/v1/veo/extend', { taskId: queued, prompt: 'go on' });
  assert.equal(notDone.code, 422);
  assert.match(notDone.msg, /has not finished yet/);

  const doomed = await generate();
  await new TaskLifecycle(harness.segue.storage).fail(doomed, { stage: 'generation', reason: 'generation_failed', message: 'boom' });
  const failed = await call('POST', '/api/v1/veo/extend', { taskId: doomed, prompt: 'go on' });
  assert.equal(failed.code, 422);
  assert.match(failed.msg, /failed/);
});

test('extend of a succeeded task is accepted with lineage; after a 1080p upgrade it is refused', async () => {
  const source = await markSucceeded(await generate({ prompt: 'source', seeds: 44444 }));
  const reply = await call('POST', '/api/v1/veo/extend', { taskId: source.id, prompt: 'go on', seeds: 55555, model: 'quality' });
  assert.equal(reply.code, 200);
  const extension = (await harness.segue.storage.tasks.findById(reply.data.taskId))!;
  assert.equal(extension.operation, 'extend');
  assert.equal(extension.parentTaskId, source.id);
  assert.equal(extension.rootTaskId, source.id);
  assert.equal(extension.seed, 55555);
  assert.equal(extension.parameters.model, 'veo3', 'model "quality" is Veo 3.1');
  assert.equal(extension.parameters.prompt, 'go on');

  await harness.segue.storage.tasks.insert({
    ...source,
    id: 'a'.repeat(32),
    operation: 'upgrade_1080p',
    parentTaskId: source.id,
    state: 'queued',
    result: null,
  });
  const refused = await call('POST', '/api/v1/veo/extend', { taskId: source.id, prompt: 'go on' });
  assert.deepEqual(refused, { code: 422, msg: 'Videos generated after 1080P generation cannot be extended.', data: null });
});

test('a Veo 3.1 Lite video cannot be extended, as on the Gemini API', async () => {
  const lite = await markSucceeded(await generate({ prompt: 'lite', model: 'veo3_lite' }));
  const reply = await call('POST', '/api/v1/veo/extend', { taskId: lite.id, prompt: 'go on' });
  assert.deepEqual(reply, { code: 422, msg: 'Videos made with model veo3_lite cannot be extended.', data: null });
});

test('health and readiness answer', async () => {
  assert.deepEqual((await harness.segue.http.inject({ url: '/healthz' })).json(), { status: 'ok' });
  const ready = await harness.segue.http.inject({ url: '/readyz' });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), {
    status: 'ready',
    checks: { database: 'ok', ffmpeg: 'ok' },
    providers: { local: { breaker: 'closed', consecutiveFailures: 0, maxConcurrent: 1_000_000 } },
  });
});

test('record-info: missing taskId is 422; unknown and foreign ids are "record is null"', async () => {
  assert.equal((await call('GET', '/api/v1/veo/record-info')).code, 422);
  const unknown = await call('GET', '/api/v1/veo/record-info?taskId=nope');
  assert.deepEqual(unknown, { code: 422, msg: 'record is null', data: null });
  const theirs = await generate({ prompt: 'theirs' }, otherKey);
  assert.deepEqual(await call('GET', `/api/v1/veo/record-info?taskId=${theirs}`), unknown);
});

test('record-info of a succeeded task lists signed result URLs; failures carry flag, code and message', async () => {
  const done = await markSucceeded(await generate());
  const info = await call('GET', `/api/v1/veo/record-info?taskId=${done.id}`);
  assert.equal(info.data.successFlag, 1);
  assert.equal(info.data.errorMessage, '');
  assert.equal(info.data.response.resolution, '720p');
  assert.deepEqual(info.data.response.originUrls, []);
  assert.match(info.data.response.resultUrls[0], new RegExp(`/files/tasks/${done.id}/video\\.mp4\\?expires=\\d+&signature=`));
  assert.match(info.data.completeTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

  const lifecycle = new TaskLifecycle(harness.segue.storage);
  const rejected = await generate();
  await lifecycle.fail(rejected, { stage: 'generation', reason: 'content_policy', message: 'blocked' });
  const rejectedInfo = await call('GET', `/api/v1/veo/record-info?taskId=${rejected}`);
  assert.equal(rejectedInfo.data.successFlag, 2, 'failed before a provider took it');
  assert.equal(rejectedInfo.data.errorCode, 400);
  assert.equal(rejectedInfo.data.errorMessage, 'Your prompt was flagged by Website as violating content policies.');

  const broken = await generate();
  await harness.segue.storage.tasks.transition(broken, 'queued', { to: 'running', at: Date.now() });
  await lifecycle.fail(broken, { stage: 'generation', reason: 'generation_failed', message: 'the model gave up' });
  const brokenInfo = await call('GET', `/api/v1/veo/record-info?taskId=${broken}`);
  assert.equal(brokenInfo.data.successFlag, 3);
  assert.equal(brokenInfo.data.errorCode, 501);
  assert.equal(brokenInfo.data.errorMessage, 'the model gave up');
});

test('credit returns the balance (grants less holds) as a bare number', async () => {
  const fresh = await harness.segue.keys.create('fresh', 500);
  assert.deepEqual(await call('GET', '/api/v1/chat/credit', undefined, fresh.key), { code: 200, msg: 'success', data: 500 });
  await generate({ prompt: 'costs 64' }, fresh.key);
  assert.equal((await call('GET', '/api/v1/chat/credit', undefined, fresh.key)).data, 500 - 64);
});

test('unknown routes under /api/v1 answer with the envelope', async () => {
  assert.deepEqual(await call('GET', '/api/v1/veo/nothing-here'), { code: 404, msg: 'Not found', data: null });
});
