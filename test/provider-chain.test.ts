/**
 * The README's worked providers file (examples/providers.chain.json) as it ships: `veo3_fast` goes
 * to fal, then the Gemini API, then a ComfyUI box. Each upstream is its fake (real HTTP), the file's
 * addresses pointed at them; fal and Gemini refuse every create, so both dialects' tasks end up on
 * the box, with fallbackFlag and the whole chain recorded.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FAKE_FAL_KEY, falEntry, startFakeFal, submits } from './helpers/fake-fal.js';
import { startFakeComfyUi } from './helpers/fake-comfyui.js';
import { creates, FAKE_GEMINI_KEY, startFakeGemini } from './helpers/fake-gemini.js';
import { freePort, VeoClient } from './helpers/http-client.js';
import { startTestSegue, temporaryDirectory } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('the worked providers file: fal refuses, Gemini refuses, the ComfyUI box makes the video — through the Veo and universal dialects', async () => {
  const [fal, gemini, box] = await Promise.all([startFakeFal(), startFakeGemini(), startFakeComfyUi()]);
  cleanups.push(() => fal.close(), () => gemini.close(), () => box.close());
  await fetch(`${fal.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ failSubmits: { status: 503, remaining: -1 } }) });
  await fetch(`${gemini.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ failCreates: { status: 503, remaining: -1 } }) });

  // The shipped file, with its addresses pointed at the fakes and quick polls; routes untouched.
  const shipped = JSON.parse(fs.readFileSync(path.join(examples, 'providers.chain.json'), 'utf8'));
  const directory = temporaryDirectory('chain-providers-');
  fs.cpSync(path.join(examples, 'comfyui'), path.join(directory, 'comfyui'), { recursive: true });
  const quick = { firstPollSeconds: 0.2, pollSeconds: 0.3 };
  shipped.providers.fal = { ...shipped.providers.fal, ...falEntry(fal, { models: shipped.providers.fal.models }), apiKeyEnv: 'FAL_KEY' };
  shipped.providers.google = { ...shipped.providers.google, baseUrl: gemini.url, ...quick };
  shipped.providers.gpu = { ...shipped.providers.gpu, baseUrl: box.url, ...quick };
  const providersFile = path.join(directory, 'providers.json');
  fs.writeFileSync(providersFile, JSON.stringify(shipped));
  assert.deepEqual(shipped.routes.veo3_fast, ['fal', 'google', 'gpu']);

  // The plug-ins read entries' secrets from the process environment, as in production.
  process.env['FAL_KEY'] = FAKE_FAL_KEY;
  process.env['GEMINI_API_KEY'] = FAKE_GEMINI_KEY;
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const harness = await startTestSegue({
    environment: {
      SEGUE_PROVIDERS: providersFile, SEGUE_ALLOW_PRIVATE_NETWORKS: 'true', SEGUE_PUBLIC_URL: baseUrl,
    },
  });
  cleanups.push(() => harness.close());
  await harness.segue.http.listen({ host: '127.0.0.1', port });

  const veo = new VeoClient(baseUrl, harness.key);
  const created = await veo.post('/api/v1/veo/generate', { prompt: 'a lighthouse at dusk', model: 'veo3_fast' });
  assert.equal(created.code, 200, JSON.stringify(created));
  const done = await veo.waitUntilDone(created.data.taskId, 240_000);
  assert.equal(done.successFlag, 1, JSON.stringify(done));
  assert.equal(done.fallbackFlag, true, 'it ran on a later entry than the first');
  const task = (await harness.segue.storage.tasks.findById(created.data.taskId))!;
  assert.equal(task.provider, 'gpu');
  assert.deepEqual(task.providerRoute, ['fal', 'google', 'gpu']);
  assert.equal(task.engineDetails?.['upstreamCostUsd'], 0.16, 'the box\'s configured $0.02/s for 8 s');

  const universal = await fetch(`${baseUrl}/v2/video/generations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${harness.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'google/veo-3.1-t2v-fast', prompt: 'a harbour at night', duration: 8 }),
  });
  const generation = (await universal.json()) as { id: string };
  const fetched = await waitFor('the universal generation to end', async () => {
    const answer = (await (await fetch(`${baseUrl}/v2/video/generations?generation_id=${generation.id}`, { headers: { authorization: `Bearer ${harness.key}` } })).json()) as { status: string };
    return answer.status === 'completed' || answer.status === 'error' ? answer : undefined;
  }, { timeoutMs: 240_000, intervalMs: 250 });
  assert.equal(fetched.status, 'completed', JSON.stringify(fetched));
  assert.equal((await harness.segue.storage.tasks.findById(generation.id))!.provider, 'gpu');

  assert.equal(submits(fal).length, 2, 'each task tried fal once');
  assert.equal(creates(gemini).length, 2, 'then Gemini once');
  assert.equal(box.prompts.size, 2, 'and ran on the box');
});
