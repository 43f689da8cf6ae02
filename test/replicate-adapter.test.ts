import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { standardWebhookSignature } from '../src/callbacks/webhook-signatures.js';
import { withParameterDefaults, type Task } from '../src/domain/task.js';
import type { FakeReplicateServer } from '../src/fake-upstream/fake-replicate-server.js';
import { ProviderError, type ProviderStatus } from '../src/ports/video-provider.js';
import { loadProvidersFile } from '../src/providers/providers-file.js';
import { cancelAfterHeader, ReplicateClient } from '../src/providers/replicate/replicate-client.js';
import type { ReplicateEntry } from '../src/providers/replicate/replicate-entry.js';
import { replicateWebhook } from '../src/providers/replicate/replicate-plugin.js';
import { DEADLINE_GRACE_MS, ReplicateVideoProvider } from '../src/providers/replicate/replicate-video-provider.js';
import { creates, FAKE_REPLICATE_TOKEN, startFakeReplicate, writeReplicateProvidersFile } from './helpers/fake-replicate.js';
import { ManualClock } from './helpers/manual-clock.js';
import { media } from './helpers/media-checks.js';
import { temporaryDirectory } from './helpers/test-segue.js';

const signal = new AbortController().signal;
const context = { signal };
let fake: FakeReplicateServer;
let entry: ReplicateEntry;
const clock = new ManualClock();
const now = () => clock.now();

function providerFor(server: FakeReplicateServer, overrides: Partial<ReplicateEntry> = {}, token = FAKE_REPLICATE_TOKEN): ReplicateVideoProvider {
  const client = new ReplicateClient({ baseUrl: server.url, apiToken: token, timeoutMs: 10_000, maxDownloadBytes: 50 * 1024 * 1024 });
  return new ReplicateVideoProvider('replicate', { ...entry, ...overrides }, { client, credentialIdentity: 'sha256:test', webhookUrl: null, now });
}

function task(fields: Partial<Task> & { prompt?: string; model?: string } = {}): Task {
  const { prompt = 'a lighthouse at dusk', model = 'veo3_fast', ...rest } = fields;
  return {
    id: `task-${Math.random().toString(36).slice(2)}`, apiKeyId: 'k', operation: 'generate', parentTaskId: null, rootTaskId: 'r', dialect: 'veo',
    parameters: withParameterDefaults({ prompt, model }), requestEcho: {}, seed: 7, price: 0, callbackUrl: null,
    provider: 'replicate', providerRoute: ['replicate'], providerHandle: null, extension: null, upstreamOutput: null, state: 'running', progress: 0,
    failure: null, result: null, engineDetails: null, createdAt: Date.now(), startedAt: Date.now(), finishedAt: null, ...rest,
  };
}

async function pollUntilEnd(provider: ReplicateVideoProvider, handle: unknown, subject: Task): Promise<{ status: ProviderStatus; pending: number }> {
  let pending = 0;
  for (;;) {
    const status = await provider.status(handle, subject, context);
    if (status.state !== 'pending') return { status, pending };
    pending++;
    await new Promise((resolve) => setTimeout(resolve, 20)); // a poll interval, as the worker would wait
  }
}

const failedOf = (status: ProviderStatus) => status as Extract<ProviderStatus, { state: 'failed' }>;
const lastInput = () => (creates(fake).at(-1)!.body as { input: Record<string, unknown> }).input;

before(async () => {
  fake = await startFakeReplicate({ pollsUntilDone: 2, now });
  entry = loadProvidersFile(writeReplicateProvidersFile(fake.url)).providers['replicate'] as ReplicateEntry;
});
after(() => fake.close());

test('the entry of the brief parses, with Replicate\'s defaults', () => {
  const file = path.join(temporaryDirectory(), 'providers.json');
  const content = { providers: { r: { kind: 'replicate', apiTokenEnv: 'REPLICATE_API_TOKEN', baseUrl: 'https://api.replicate.com', models: { veo3: 'google/veo-3.1', veo3_fast: 'google/veo-3.1-fast' } } }, routes: { '*': ['r'] } };
  fs.writeFileSync(file, JSON.stringify(content));
  const parsed = loadProvidersFile(file).providers['r'] as ReplicateEntry;
  assert.equal(parsed.timeoutSeconds, 900);
  assert.equal(parsed.webhookSecretEnv, undefined);
  assert.equal(cancelAfterHeader(900), '15m');
  assert.equal(cancelAfterHeader(5430), '1h30m30s');
});

test('create → starting → processing → succeeded: Bearer token, Cancel-After, the output taken from the delivery host without the token', async () => {
  const provider = providerFor(fake);
  const subject = task({ parameters: withParameterDefaults({ prompt: 'a lighthouse at dusk', model: 'veo3_fast', negativePrompt: 'fog' }) });
  const handle = (await provider.start(subject, context)) as { operation: string; model: string; deadline: number };
  assert.match(handle.operation, /^[a-z2-7]{26}$/);
  assert.equal(handle.model, 'google/veo-3.1-fast');
  const create = creates(fake).at(-1)!;
  assert.equal(create.path, '/v1/models/google/veo-3.1-fast/predictions');
  assert.equal(create.token, 'valid');
  assert.equal(create.headers['cancel-after'], '15m', 'the task\'s deadline goes as Cancel-After');
  assert.deepEqual(lastInput(), { prompt: 'a lighthouse at dusk', aspect_ratio: '16:9', duration: 8, resolution: '720p', generate_audio: true, negative_prompt: 'fog', seed: 7 });
  const seen: string[] = [];
  let pending = 0;
  let status: ProviderStatus;
  for (;;) {
    status = await provider.status(handle, subject, context);
    seen.push(fake.predictions.get(handle.operation)!.status);
    if (status.state !== 'pending') break;
    pending++;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(pending >= 2, 'starting, then processing');
  assert.deepEqual(seen.slice(0, 2), ['starting', 'processing']);
  assert.equal(status.state, 'output_ready');
  const output = (status as Extract<ProviderStatus, { state: 'output_ready' }>).output;
  assert.ok(output.uri.startsWith(fake.deliveryUrl), 'the output lives on the delivery host');
  const file = path.join(temporaryDirectory(), 'video.mp4');
  await provider.download(output, file, context);
  const info = await media.probe(file);
  assert.deepEqual([info.video?.width, info.video?.height], [1280, 720]);
  assert.ok(Math.abs(info.durationSeconds - 8) < 0.2);
  assert.ok(fake.downloads.length > 0 && fake.downloads.every((download) => !download.authorization), 'the token never goes to the output host');
});

test('image modes: first and last frame (8 s), reference images on the full model only (16:9, 8 s); the fake accepts what was sent', async () => {
  const provider = providerFor(fake);
  const png = `data:image/png;base64,${Buffer.from('pretend').toString('base64')}`;
  await provider.start(task({ parameters: withParameterDefaults({ prompt: 'p', model: 'veo3_fast', mode: 'first_and_last_frames', imageUrls: ['https://example.com/a.png', png], durationSeconds: 4, aspectRatio: 'auto' }) }), context);
  assert.deepEqual(lastInput(), { prompt: 'p', image: 'https://example.com/a.png', last_frame: png, duration: 8, resolution: '720p', generate_audio: true, seed: 7 });
  assert.equal(provider.capabilities('veo3_fast')?.modes.includes('reference_images'), false, 'google/veo-3.1-fast takes no reference images');
  assert.equal(provider.capabilities('veo3')?.modes.includes('reference_images'), true);
  await provider.start(task({ parameters: withParameterDefaults({ prompt: 'p', model: 'veo3', mode: 'reference_images', imageUrls: ['https://example.com/a.png', 'https://example.com/b.png'], aspectRatio: '9:16', durationSeconds: 6 }) }), context);
  const input = lastInput();
  assert.deepEqual(input['reference_images'], ['https://example.com/a.png', 'https://example.com/b.png']);
  assert.equal(input['aspect_ratio'], '16:9');
  assert.equal(input['duration'], 8);
  assert.equal(input['image'], undefined);
  assert.deepEqual(provider.capabilities('veo3')?.operations, ['generate'], 'no native extension: the model takes no video');
});

test('failed: a generation failure with Replicate\'s message, a safety refusal (E005) as content policy, the token cleaned away', async () => {
  const provider = providerFor(fake);
  for (const [prompt, reason, expected] of [
    ['[fake:fail] x', 'generation_failed', /could not generate/],
    ['[fake:sensitive] x', 'content_policy', /flagged as sensitive/],
    ['[fake:fail-with-token] x', 'generation_failed', /\[redacted\]/],
  ] as const) {
    const subject = task({ prompt });
    const { status } = await pollUntilEnd(provider, await provider.start(subject, context), subject);
    assert.equal(status.state, 'failed');
    assert.equal(failedOf(status).reason, reason);
    assert.equal(failedOf(status).isRetryable, false);
    assert.match(failedOf(status).message, expected);
    assert.ok(!failedOf(status).message.includes(FAKE_REPLICATE_TOKEN));
  }
});

test('the deadline: aborted before it started (not billed), canceled while running; Segue cancels one Replicate let run past it', async () => {
  const provider = providerFor(fake, { timeoutSeconds: 30 });
  const queued = task({ prompt: '[fake:queued] x' });
  const queuedHandle = await provider.start(queued, context);
  assert.equal(creates(fake).at(-1)!.headers['cancel-after'], '30s');
  assert.equal((await provider.status(queuedHandle, queued, context)).state, 'pending');
  clock.advance(31_000);
  const aborted = await provider.status(queuedHandle, queued, context);
  assert.equal(aborted.state, 'failed');
  assert.equal(failedOf(aborted).reason, 'timeout');
  assert.match(failedOf(aborted).message, /aborted.*not billed/);

  const stuck = task({ prompt: '[fake:stuck] x' });
  const stuckHandle = await provider.start(stuck, context);
  await provider.status(stuckHandle, stuck, context);
  assert.equal((await provider.status(stuckHandle, stuck, context)).state, 'pending');
  clock.advance(31_000);
  const canceled = await provider.status(stuckHandle, stuck, context);
  assert.match(failedOf(canceled).message, /canceled/);

  const deaf = await startFakeReplicate({ honourCancelAfter: false, now });
  try {
    const runaway = providerFor(deaf, { timeoutSeconds: 30 });
    const subject = task({ prompt: '[fake:stuck] x' });
    const handle = (await runaway.start(subject, context)) as { operation: string };
    clock.advance(31_000);
    assert.equal((await runaway.status(handle, subject, context)).state, 'pending', 'within the grace Segue waits for Replicate');
    assert.equal(deaf.requests.filter((request) => request.path.endsWith('/cancel')).length, 0);
    clock.advance(DEADLINE_GRACE_MS);
    const ended = await runaway.status(handle, subject, context);
    assert.equal(ended.state, 'failed');
    assert.match(failedOf(ended).message, /canceled/);
    assert.equal(deaf.requests.filter((request) => request.path === `/v1/predictions/${handle.operation}/cancel`).length, 1, 'one cancel call');
    assert.equal(deaf.predictions.get(handle.operation)!.status, 'canceled');
  } finally {
    await deaf.close();
  }
});

test('429 with Retry-After on a read and on a create is retryable with the upstream\'s delay; 422, 402 and a bad token are not', async () => {
  const provider = providerFor(fake);
  const subject = task();
  const handle = await provider.start(subject, context);
  await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ throttleReads: 1, throttleCreates: 1 }) });
  const throttled = await provider.status(handle, subject, context).then(() => undefined, (caught: unknown) => caught);
  assert.ok(throttled instanceof ProviderError);
  assert.equal(throttled.isRetryable, true);
  assert.equal(throttled.retryAfterMs, 1000);
  assert.match(throttled.message, /429 Request was throttled/);
  assert.equal((await pollUntilEnd(provider, handle, subject)).status.state, 'output_ready', 'polling goes on after the 429');
  const throttledCreate = await provider.start(task(), context).then(() => undefined, (caught: unknown) => caught);
  assert.ok(throttledCreate instanceof ProviderError && throttledCreate.isRetryable && throttledCreate.retryAfterMs === 1000);

  const invalid = await provider.start(task({ parameters: withParameterDefaults({ prompt: 'p', model: 'veo3', resolution: '1080p', durationSeconds: 4 }) }), context).then(() => undefined, (caught: unknown) => caught);
  assert.ok(invalid instanceof ProviderError && !invalid.isRetryable);
  assert.equal(invalid.reason, 'input_unusable');
  assert.match(invalid.message, /422 Input validation failed: - input.resolution: 1080p is only available for 8 second videos/);

  await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ failCreates: { status: 402, remaining: 1 } }) });
  const unpaid = await provider.start(task(), context).then(() => undefined, (caught: unknown) => caught);
  assert.ok(unpaid instanceof ProviderError && !unpaid.isRetryable);
  assert.match(unpaid.message, /402 Insufficient credit/);

  const wrongToken = 'r8_wrong-token-0000000000';
  const refused = await providerFor(fake, {}, wrongToken).start(task(), context).then(() => undefined, (caught: unknown) => caught);
  assert.ok(refused instanceof ProviderError && !refused.isRetryable);
  assert.match(refused.message, /401 Unauthenticated/);
  assert.ok(!refused.message.includes(wrongToken));
});

test('an expired output link fails the download for good (custody must get there first)', async () => {
  const provider = providerFor(fake);
  const subject = task();
  const { status } = await pollUntilEnd(provider, await provider.start(subject, context), subject);
  const output = (status as Extract<ProviderStatus, { state: 'output_ready' }>).output;
  clock.advance(3600_000 + 1000);
  const error = await provider.download(output, path.join(temporaryDirectory(), 'late.mp4'), context).then(() => undefined, (caught: unknown) => caught);
  assert.ok(error instanceof ProviderError && !error.isRetryable);
  assert.match(error.message, /expired or is gone/);
});

test('an extension is a bridge: the source\'s last frame as image (a data: URI) at its aspect ratio; the model is never sent a video', async () => {
  const provider = providerFor(fake);
  const pngFile = path.join(temporaryDirectory(), 'frame.png');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=720x1280:d=1', '-frames:v', '1', pngFile]);
  const bytes = fs.readFileSync(pngFile);
  const extension = task({ operation: 'extend', prompt: 'the camera rises', parentTaskId: 'source' });
  const refused = await provider.start(extension, { signal, source: { task: null, link: 'https://segue.example/v.mp4' } }).then(() => undefined, (caught: unknown) => caught);
  assert.ok(refused instanceof ProviderError && !refused.isRetryable, 'without a bridge frame there is nothing Replicate can continue');
  const handle = await provider.start(extension, { signal, source: { task: null, link: null, bridge: { frame: { bytes, mimeType: 'image/png' }, aspectRatio: '9:16' } } });
  const input = lastInput();
  assert.equal(input['image'], `data:image/png;base64,${bytes.toString('base64')}`);
  assert.equal(input['aspect_ratio'], '9:16');
  assert.equal(input['duration'], 8);
  assert.equal(input['resolution'], '720p');
  assert.ok(!('video' in input));
  const { status } = await pollUntilEnd(provider, handle, extension);
  const file = path.join(temporaryDirectory(), 'bridge.mp4');
  await provider.download((status as Extract<ProviderStatus, { state: 'output_ready' }>).output, file, context);
  assert.deepEqual([(await media.probe(file)).video?.width, (await media.probe(file)).video?.height], [720, 1280]);

  const withVideo = await fetch(`${fake.url}/v1/models/google/veo-3.1/predictions`, {
    method: 'POST', headers: { authorization: `Bearer ${FAKE_REPLICATE_TOKEN}` }, body: JSON.stringify({ input: { prompt: 'x', video: 'https://example.com/v.mp4' } }),
  });
  assert.equal(withVideo.status, 422, 'the fake refuses a video, as google/veo-3.1 has no such input');
  assert.match(((await withVideo.json()) as { detail: string }).detail, /Additional property video is not allowed/);
});

test('webhooks: the signing secret from /v1/webhooks/default/secret verifies a delivery; forged and stale ones are refused', async () => {
  const secret = ((await (await fetch(`${fake.url}/v1/webhooks/default/secret`, { headers: { authorization: `Bearer ${FAKE_REPLICATE_TOKEN}` } })).json()) as { key: string }).key;
  assert.match(secret, /^whsec_/);
  const verifier = replicateWebhook(secret, now);
  const body = JSON.stringify({ id: 'abc', status: 'succeeded', output: 'https://replicate.delivery/x.mp4' });
  const at = Math.floor(now() / 1000);
  const headers = (timestamp: number, signature = standardWebhookSignature(secret, 'msg_1', timestamp, body)) => ({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': signature });
  assert.deepEqual(await verifier.verify(headers(at), body, { task: 'task_123' }), { deliveryId: 'msg_1', taskId: 'task_123' });
  assert.equal(await verifier.verify(headers(at), body.replace('succeeded', 'failed'), { task: 'task_123' }), undefined, 'a body changed after signing');
  assert.equal(await verifier.verify(headers(at, standardWebhookSignature('whsec_' + Buffer.from('not the secret').toString('base64'), 'msg_1', at, body)), body, {}), undefined, 'signed with another secret');
  assert.equal(await verifier.verify(headers(at - 301), body, { task: 'task_123' }), undefined, 'older than 5 minutes');
  assert.equal((await verifier.verify(headers(at), body, { task: '../../etc' }))?.taskId, undefined, 'a task id that is not one names nothing');
});
