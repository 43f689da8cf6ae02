import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { secretFingerprint } from '../src/providers/credential-identity.js';
import { creates, FAKE_GEMINI_KEY, startFakeGemini, writeProvidersFile } from './helpers/fake-gemini.js';
import { startFakeVertex, VERTEX_CREDENTIALS_ENV, vertexCreates, writeServiceAccountFile, writeVertexProvidersFile } from './helpers/fake-vertex.js';
import { freePort, VeoClient } from './helpers/http-client.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A Segue on `dataDir` with this providers file, listening; closed (data kept) at the end or by the test. */
async function segueOn(dataDir: string, providersFile: string): Promise<{ harness: TestSegue; veo: VeoClient }> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const harness = await startTestSegue({ dataDir, environment: { SEGUE_PROVIDERS: providersFile, SEGUE_ALLOW_PRIVATE_NETWORKS: 'true', SEGUE_PUBLIC_URL: baseUrl } });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  let closed = false;
  cleanups.push(async () => {
    if (!closed) await harness.close({ keepData: true });
  });
  return {
    harness: { ...harness, close: async (options) => { closed = true; await harness.close(options); } },
    veo: new VeoClient(baseUrl, harness.key),
  };
}

test('a Gemini task is pinned to a fingerprint of its key (never the key), with its exact model id', async () => {
  const fake = await startFakeGemini();
  cleanups.push(() => fake.close());
  const dataDir = temporaryDirectory();
  cleanups.unshift(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const { harness, veo } = await segueOn(dataDir, writeProvidersFile(fake.url));
  const generated = await veo.post('/api/v1/veo/generate', { prompt: 'a paper boat', model: 'veo3_fast' });
  const done = await veo.waitUntilDone(generated.data.taskId, 120_000);
  assert.equal(done.successFlag, 1, done.errorMessage);
  assert.deepEqual(done.pinnedTo, { entry: 'google', credential: secretFingerprint(FAKE_GEMINI_KEY), region: null, upstreamModel: 'veo-3.1-fast-generate-preview' });
  const details = (await (await fetch(`${veo.baseUrl}/api/v1/tasks/${generated.data.taskId}`, { headers: { authorization: `Bearer ${veo.key}` } })).json()) as { data: { pinnedTo: unknown } };
  assert.deepEqual(details.data.pinnedTo, done.pinnedTo, 'the task details show it too');
  assert.ok(!JSON.stringify(await harness.segue.storage.tasks.findById(generated.data.taskId)).includes(FAKE_GEMINI_KEY));
  assert.equal(creates(fake).length, 1);
});

test('Vertex: after the entry moves to another service account, a video made as the first is not extended natively as the second (bridge instead), and a task in flight is left for an operator, not polled as another account', async () => {
  const fake = await startFakeVertex({ pollsUntilDone: 1 });
  cleanups.push(() => fake.close());
  const first = fake.createServiceAccount('first@segue-test-project.iam.gserviceaccount.com');
  const second = fake.createServiceAccount('second@segue-test-project.iam.gserviceaccount.com');
  const firstFile = writeServiceAccountFile(first);
  const secondFile = writeServiceAccountFile(second);
  const providers = writeVertexProvidersFile(fake);
  const dataDir = temporaryDirectory();
  // Runs last (cleanups run in reverse): after both Segues on this directory closed.
  cleanups.unshift(async () => fs.rmSync(dataDir, { recursive: true, force: true }));

  process.env[VERTEX_CREDENTIALS_ENV] = firstFile;
  const before = await segueOn(dataDir, providers);
  const generated = await before.veo.post('/api/v1/veo/generate', { prompt: 'a red balloon', model: 'veo3_fast' });
  const source = await before.veo.waitUntilDone(generated.data.taskId, 120_000);
  assert.equal(source.successFlag, 1, source.errorMessage);
  assert.equal(source.pinnedTo.credential, first['client_email']);
  // A task that the upstream accepted as the first account, still running when the entry changes.
  await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ throttlePolls: 1000 }) });
  const inFlight = await before.veo.post('/api/v1/veo/generate', { prompt: 'a slow one', model: 'veo3_fast' });
  await waitFor('the upstream to accept it', async () => (await before.harness.segue.storage.tasks.findById(inFlight.data.taskId))?.pinning ?? undefined, { timeoutMs: 30_000 });
  await before.harness.close({ keepData: true });

  process.env[VERTEX_CREDENTIALS_ENV] = secondFile;
  await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ throttlePolls: 0 }) });
  const pollsBefore = fake.requests.filter((request) => request.path.endsWith(':fetchPredictOperation')).length;
  const after = await segueOn(dataDir, providers);
  const reconciling = await waitFor('the pinned task to be left for an operator', async () => {
    const task = await after.harness.segue.storage.tasks.findById(inFlight.data.taskId);
    return task?.state === 'reconciling' ? task : undefined;
  }, { timeoutMs: 30_000 });
  assert.equal(reconciling.pinning?.credential, first['client_email']);
  assert.equal(fake.requests.filter((request) => request.path.endsWith(':fetchPredictOperation')).length, pollsBefore, 'never polled as the second account');

  const extended = await after.veo.post('/api/v1/veo/extend', { taskId: generated.data.taskId, prompt: 'it floats away', model: 'fast' });
  assert.equal(extended.code, 200, extended.msg);
  const done = await after.veo.waitUntilDone(extended.data.taskId, 180_000);
  assert.equal(done.successFlag, 1, done.errorMessage);
  assert.equal(done.extendMethod, 'bridge');
  assert.match(done.extendReason, /made as first@segue-test-project\.iam\.gserviceaccount\.com/);
  assert.equal(done.fallbackFlag, true, 'a lesser method than the source allowed');
  assert.equal(done.pinnedTo.credential, second['client_email']);
  const extendBody = vertexCreates(fake).at(-1)!.body as { instances: Array<Record<string, unknown>> };
  assert.equal(extendBody.instances[0]!['video'], undefined, 'no native extension as another account');
});
