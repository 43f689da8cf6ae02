import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { withParameterDefaults, type Task } from '../src/domain/task.js';
import type { FakeGeminiServer } from '../src/fake-upstream/fake-gemini-server.js';
import { ProviderError, type ProviderStatus } from '../src/ports/video-provider.js';
import { GeminiClient } from '../src/providers/gemini/gemini-client.js';
import { GeminiVideoProvider } from '../src/providers/gemini/gemini-video-provider.js';
import type { GeminiEntry } from '../src/providers/gemini/gemini-entry.js';
import { loadProvidersFile } from '../src/providers/providers-file.js';
import { creates, FAKE_GEMINI_KEY, startFakeGemini, writeProvidersFile } from './helpers/fake-gemini.js';
import { media } from './helpers/media-checks.js';
import { temporaryDirectory } from './helpers/test-segue.js';
import { secretFingerprint } from '../src/providers/credential-identity.js';

const signal = new AbortController().signal;
const context = { signal };
let fake: FakeGeminiServer;
let entry: GeminiEntry;
const tiny = { bytesBase64Encoded: Buffer.from('not really a png').toString('base64'), mimeType: 'image/png' };

function providerFor(server: FakeGeminiServer, overrides: Partial<GeminiEntry> = {}, now = Date.now): GeminiVideoProvider {
  const client = new GeminiClient({ baseUrl: server.url, apiKey: FAKE_GEMINI_KEY, timeoutMs: 10_000, maxDownloadBytes: 50 * 1024 * 1024 });
  return new GeminiVideoProvider('google', { ...entry, ...overrides }, {
    client,
    credentialIdentity: secretFingerprint(FAKE_GEMINI_KEY),
    fetchImage: async () => tiny,
    webhookUrl: null,
    now,
  });
}

function task(fields: Partial<Task> & { prompt?: string; model?: string } = {}): Task {
  const { prompt = 'a lighthouse at dusk', model = 'veo3_fast', ...rest } = fields;
  return {
    id: `task-${Math.random().toString(36).slice(2)}`, apiKeyId: 'k', operation: 'generate', parentTaskId: null, rootTaskId: 'r', dialect: 'veo',
    parameters: withParameterDefaults({ prompt, model }), requestEcho: {}, seed: 7, price: 0, callbackUrl: null,
    provider: 'google', providerRoute: ['google'], providerHandle: null, extension: null, upstreamOutput: null, state: 'running', progress: 0,
    failure: null, result: null, engineDetails: null, createdAt: Date.now(), startedAt: Date.now(), finishedAt: null, ...rest,
  };
}

async function pollUntilEnd(provider: GeminiVideoProvider, handle: unknown, subject: Task): Promise<{ status: ProviderStatus; pending: number }> {
  let pending = 0;
  for (;;) {
    const status = await provider.status(handle, subject, context);
    if (status.state !== 'pending') return { status, pending };
    pending++;
    await new Promise((resolve) => setTimeout(resolve, 20)); // a poll interval, as the worker would wait
  }
}

before(async () => {
  fake = await startFakeGemini({ pollsUntilDone: 2 });
  entry = loadProvidersFile(writeProvidersFile(fake.url)).providers['google'] as GeminiEntry;
});
after(() => fake.close());

test('create → not done twice → done: the file uri is downloaded through a 302, with the key sent only to the API', async () => {
  const provider = providerFor(fake);
  const subject = task();
  const handle = await provider.start(subject, context);
  assert.match((handle as { operation: string }).operation, /^models\/veo-3\.1-fast-generate-preview\/operations\/\w+$/);
  const { status, pending } = await pollUntilEnd(provider, handle, subject);
  assert.ok(pending >= 2, 'the fake answers "not done" twice (and more while its video renders)');
  assert.equal(status.state, 'output_ready');
  const output = (status as Extract<ProviderStatus, { state: 'output_ready' }>).output;
  assert.match(output.uri, /\/v1beta\/files\/\w+:download\?alt=media$/);
  const file = path.join(temporaryDirectory(), 'video.mp4');
  await provider.download(output, file, context);
  const info = await media.probe(file);
  assert.equal(info.video?.width, 1280);
  assert.equal(info.video?.height, 720);
  assert.ok(Math.abs(info.durationSeconds - 8) < 0.2, `8 s, got ${info.durationSeconds}`);
  assert.ok(info.audio, 'Veo 3.1 videos have sound');
  const download = fake.requests.find((request) => request.path.includes(':download'));
  assert.equal(download?.apiKey, 'valid', 'the download carries x-goog-api-key');
  const body = creates(fake).at(-1)!.body as { instances: Array<Record<string, unknown>>; parameters: Record<string, unknown> };
  assert.deepEqual(body.instances, [{ prompt: 'a lighthouse at dusk' }]);
  assert.deepEqual(body.parameters, { sampleCount: 1, durationSeconds: 8, aspectRatio: '16:9', resolution: '720p', personGeneration: 'allow_all' });
  assert.ok(!('seed' in body.parameters) && !('generateAudio' in body.parameters), 'no seed, no generateAudio on the Gemini API');
});

test('image modes: first and last frame, reference images (full model only), people allowed as adults, 8 s', async () => {
  const provider = providerFor(fake);
  await provider.start(task({ parameters: withParameterDefaults({ prompt: 'p', model: 'veo3_fast', mode: 'first_and_last_frames', imageUrls: ['https://93.184.215.14/a.png', 'https://93.184.215.14/b.png'], durationSeconds: 4 }) }), context);
  let body = creates(fake).at(-1)!.body as { instances: Array<Record<string, unknown>>; parameters: Record<string, unknown> };
  assert.deepEqual(Object.keys(body.instances[0]!).sort(), ['image', 'lastFrame', 'prompt']);
  assert.equal(body.parameters['durationSeconds'], 8, 'interpolation is 8 s on the Gemini API');
  assert.equal(body.parameters['personGeneration'], 'allow_adult');
  assert.equal(provider.capabilities('veo3_fast')?.modes.includes('reference_images'), false, 'Fast takes no reference images');
  await provider.start(task({ parameters: withParameterDefaults({ prompt: 'p', model: 'veo3', mode: 'reference_images', imageUrls: ['https://93.184.215.14/a.png', 'https://93.184.215.14/b.png'] }) }), context);
  body = creates(fake).at(-1)!.body as { instances: Array<Record<string, unknown>>; parameters: Record<string, unknown> };
  assert.deepEqual((body.instances[0]!['referenceImages'] as unknown[]).length, 2);
  assert.equal((body.instances[0]!['referenceImages'] as Array<{ referenceType: string }>)[0]!.referenceType, 'asset');
});

test('done with an error: failed with the upstream message, cleaned of the key', async () => {
  const provider = providerFor(fake);
  for (const [prompt, expected] of [['[fake:error] x', /internal error/], ['[fake:error-with-key] x', /\[redacted\]/]] as const) {
    const subject = task({ prompt });
    const { status } = await pollUntilEnd(provider, await provider.start(subject, context), subject);
    assert.equal(status.state, 'failed');
    const failed = status as Extract<ProviderStatus, { state: 'failed' }>;
    assert.equal(failed.isRetryable, false);
    assert.equal(failed.reason, 'generation_failed');
    assert.match(failed.message, expected);
    assert.ok(!failed.message.includes(FAKE_GEMINI_KEY), 'the key never leaves the adapter');
  }
});

test('done with no samples and raiMediaFilteredCount > 0: a content-policy failure, never a success', async () => {
  const provider = providerFor(fake);
  const subject = task({ prompt: '[fake:rai] something' });
  const { status } = await pollUntilEnd(provider, await provider.start(subject, context), subject);
  assert.equal(status.state, 'failed');
  assert.equal((status as Extract<ProviderStatus, { state: 'failed' }>).reason, 'content_policy');
});

test('429 RESOURCE_EXHAUSTED on a poll is retryable with the upstream\'s delay; a refused create is not', async () => {
  const provider = providerFor(fake);
  const subject = task();
  const handle = await provider.start(subject, context);
  await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ throttlePolls: 1 }) });
  const error = await provider.status(handle, subject, context).then(() => undefined, (caught: unknown) => caught);
  assert.ok(error instanceof ProviderError);
  assert.equal(error.isRetryable, true);
  assert.equal(error.retryAfterMs, 1000);
  assert.match(error.message, /429 RESOURCE_EXHAUSTED/);
  assert.equal((await pollUntilEnd(provider, handle, subject)).status.state, 'output_ready', 'polling goes on after the 429');

  await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ failCreates: { status: 503, remaining: 1 } }) });
  const unavailable = await provider.start(task(), context).then(() => undefined, (caught: unknown) => caught);
  assert.ok(unavailable instanceof ProviderError && unavailable.isRetryable, '503 on create may be retried (or fall over)');
  const wrongKey = new GeminiVideoProvider('google', entry, {
    client: new GeminiClient({ baseUrl: fake.url, apiKey: 'AIza-wrong-key-000000', timeoutMs: 5_000, maxDownloadBytes: 1 }),
    fetchImage: async () => tiny, webhookUrl: null, credentialIdentity: secretFingerprint('AIza-wrong-key-000000'),
  });
  const refused = await wrongKey.start(task(), context).then(() => undefined, (caught: unknown) => caught);
  assert.ok(refused instanceof ProviderError && !refused.isRetryable, 'a bad key is not retried');
  assert.match(refused.message, /400 INVALID_ARGUMENT: API key not valid/);
  assert.ok(!refused.message.includes('AIza-wrong-key-000000'));
});

test('native extension: the request carries the earlier video.uri, 720p, 8 s, allow_all; the result is source + 7 s', async () => {
  const provider = providerFor(fake);
  const source = task();
  const { status } = await pollUntilEnd(provider, await provider.start(source, context), source);
  const output = (status as Extract<ProviderStatus, { state: 'output_ready' }>).output;
  const made: Task = { ...source, state: 'succeeded', upstreamOutput: output, result: { videoKey: 'v', segmentKey: null, posterKey: 'p', durationSeconds: 8, width: 1280, height: 720, fps: 24, hasAudio: true } };
  const extension = task({ operation: 'extend', parentTaskId: made.id, prompt: 'the camera rises' });
  // The engine resolves the source and hands it over: providers never read the task store.
  const { status: extended } = await pollUntilEnd(provider, await provider.start(extension, { signal, source: { task: made, link: null } }), extension);
  const body = creates(fake).at(-1)!.body as { instances: Array<Record<string, unknown>>; parameters: Record<string, unknown> };
  assert.deepEqual(body.instances[0]!['video'], { uri: output.uri });
  assert.equal(body.parameters['resolution'], '720p');
  assert.equal(body.parameters['durationSeconds'], 8);
  assert.equal(body.parameters['personGeneration'], 'allow_all');
  const file = path.join(temporaryDirectory(), 'extended.mp4');
  await provider.download((extended as Extract<ProviderStatus, { state: 'output_ready' }>).output, file, context);
  assert.ok(Math.abs((await media.probe(file)).durationSeconds - 15) < 0.2, 'Veo returns the whole video: 8 + 7 s');
});

test('an extension out of range is refused before any upstream call: too old, too long, not 720p, made elsewhere, Lite', async () => {
  const now = Date.now();
  const provider = providerFor(fake, { models: { ...entry.models, veo3_lite: 'veo-3.1-lite-generate-preview' } });
  const result = { videoKey: 'v', segmentKey: null, posterKey: 'p', durationSeconds: 8, width: 1280, height: 720, fps: 24, hasAudio: true };
  const good: Task = { ...task(), state: 'succeeded', result, upstreamOutput: { uri: `${fake.url}/v1beta/files/x:download?alt=media`, createdAt: now - 3600_000 } };
  assert.equal(provider.nativeExtensionRefusal(good, 'veo3_fast', now), undefined);
  assert.match(provider.nativeExtensionRefusal({ ...good, upstreamOutput: { uri: 'u', createdAt: now - 48 * 3600_000 } }, 'veo3_fast', now)!, /no longer held/);
  assert.match(provider.nativeExtensionRefusal({ ...good, result: { ...result, durationSeconds: 148 } }, 'veo3_fast', now)!, /141 s/);
  assert.match(provider.nativeExtensionRefusal({ ...good, result: { ...result, width: 1920, height: 1080 } }, 'veo3_fast', now)!, /720p/);
  assert.match(provider.nativeExtensionRefusal({ ...good, provider: 'other-account' }, 'veo3_fast', now)!, /not made on google/);
  assert.match(provider.nativeExtensionRefusal(good, 'veo3_lite', now)!, /cannot extend/);
  const before = fake.requests.length;
  const old: Task = { ...good, id: 'old', upstreamOutput: { uri: 'u', createdAt: now - 48 * 3600_000 } };
  const refused = await provider.start(task({ operation: 'extend', parentTaskId: 'old' }), { signal, source: { task: old, link: null } }).then(() => undefined, (caught: unknown) => caught);
  assert.ok(refused instanceof ProviderError && !refused.isRetryable);
  assert.equal(fake.requests.length, before, 'nothing was sent upstream');
});

test('the fake refuses what Google refuses: an expired source file, generateAudio, a bad duration', async () => {
  const post = (body: unknown) =>
    fetch(`${fake.url}/v1beta/models/veo-3.1-generate-preview:predictLongRunning`, { method: 'POST', headers: { 'x-goog-api-key': FAKE_GEMINI_KEY }, body: JSON.stringify(body) });
  const expired = await post({ instances: [{ prompt: '', video: { uri: `${fake.url}/v1beta/files/nope:download?alt=media` } }], parameters: { durationSeconds: 8 } });
  assert.equal(expired.status, 400);
  assert.equal(((await expired.json()) as { error: { status: string } }).error.status, 'INVALID_ARGUMENT');
  assert.equal((await post({ instances: [{ prompt: 'x' }], parameters: { generateAudio: true } })).status, 400);
  assert.equal((await post({ instances: [{ prompt: 'x' }], parameters: { durationSeconds: 5 } })).status, 400);
});

test('the fake, like Google, extends natively only videos it made (no bytes, no foreign uris) and accepts image-to-video', async () => {
  const post = (body: unknown) =>
    fetch(`${fake.url}/v1beta/models/veo-3.1-fast-generate-preview:predictLongRunning`, { method: 'POST', headers: { 'x-goog-api-key': FAKE_GEMINI_KEY }, body: JSON.stringify(body) });
  const parameters = { durationSeconds: 8, aspectRatio: '9:16', resolution: '720p', personGeneration: 'allow_all' };
  const asBytes = await post({ instances: [{ prompt: 'go on', video: { bytesBase64Encoded: Buffer.from('not ours').toString('base64'), mimeType: 'video/mp4' } }], parameters });
  assert.equal(asBytes.status, 400);
  assert.match(((await asBytes.json()) as { error: { message: string } }).error.message, /video bytes are not supported in Gemini API/);
  const foreign = await post({ instances: [{ prompt: 'go on', video: { uri: 'https://videos.example/raccoon.mp4' } }], parameters });
  assert.equal(foreign.status, 400);
  assert.match(((await foreign.json()) as { error: { message: string } }).error.message, /Only videos generated by Veo in the last 2 days can be extended/);
  const imageToVideo = await post({ instances: [{ prompt: 'it moves', image: tiny }], parameters: { ...parameters, personGeneration: 'allow_adult' } });
  assert.equal(imageToVideo.status, 200, 'image-to-video is accepted');
  assert.match(((await imageToVideo.json()) as { name: string }).name, /^models\/veo-3\.1-fast-generate-preview\/operations\//);
});
