import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withParameterDefaults, type Task } from '../src/domain/task.js';
import type { FakeFalServer } from '../src/fake-upstream/fake-fal-server.js';
import { ProviderError, type ProviderStatus, type StartContext } from '../src/ports/video-provider.js';
import { FalClient } from '../src/providers/fal/fal-client.js';
import { type FalEntry, falEntrySchema } from '../src/providers/fal/fal-entry.js';
import { loopbackLinkRefusal } from '../src/providers/public-link-reach.js';
import { FalVideoProvider } from '../src/providers/fal/fal-video-provider.js';
import { FAKE_FAL_KEY, falEntry, startFakeFal, submits } from './helpers/fake-fal.js';
import { media } from './helpers/media-checks.js';
import { temporaryDirectory } from './helpers/test-segue.js';

const signal = new AbortController().signal;
const context = { signal };
let fake: FakeFalServer;

function clientFor(server: FakeFalServer, apiKey = FAKE_FAL_KEY, allowPrivateNetworks = true): FalClient {
  return new FalClient({ baseUrl: server.url, apiKey, timeoutMs: 10_000, maxDownloadBytes: 50 * 1024 * 1024, downloadTimeoutMs: 30_000, allowPrivateNetworks });
}

function providerFor(server: FakeFalServer, options: { entry?: Record<string, unknown>; now?: () => number; client?: FalClient; linkRefusal?: string } = {}): FalVideoProvider {
  const entry: FalEntry = falEntrySchema.parse(falEntry(server, options.entry));
  return new FalVideoProvider('fal', entry, { client: options.client ?? clientFor(server), credentialIdentity: 'sha256:test', webhookUrlFor: null, linkRefusal: options.linkRefusal, now: options.now ?? Date.now });
}

function task(fields: Partial<Task> & { prompt?: string; model?: string; parameters?: Task['parameters'] } = {}): Task {
  const { prompt = 'a lighthouse at dusk', model = 'veo3_fast', ...rest } = fields;
  return {
    id: `task-${Math.random().toString(36).slice(2)}`, apiKeyId: 'k', operation: 'generate', parentTaskId: null, rootTaskId: 'r', dialect: 'veo',
    parameters: withParameterDefaults({ prompt, model }), requestEcho: {}, seed: 7, price: 0, callbackUrl: null,
    provider: 'fal', providerRoute: ['fal'], providerHandle: null, extension: null, upstreamOutput: null, state: 'running', progress: 0,
    failure: null, result: null, engineDetails: null, createdAt: Date.now(), startedAt: Date.now(), finishedAt: null, ...rest,
  };
}

async function pollUntilEnd(provider: FalVideoProvider, handle: unknown, subject: Task): Promise<{ status: ProviderStatus; seen: ProviderStatus[] }> {
  const seen: ProviderStatus[] = [];
  for (;;) {
    const status = await provider.status(handle, subject, context);
    if (status.state !== 'pending') return { status, seen };
    seen.push(status);
    await new Promise((resolve) => setTimeout(resolve, 20)); // a poll interval, as the worker would wait
  }
}

const rejection = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (caught: unknown) => caught);

before(async () => {
  fake = await startFakeFal({ pollsInQueue: 1, pollsInProgress: 1 });
});
after(() => fake.close());

test('submit → IN_QUEUE → IN_PROGRESS → COMPLETED: status and response URLs used verbatim, the video fetched without the key', async () => {
  const provider = providerFor(fake);
  const subject = task();
  const handle = (await provider.start(subject, context)) as { operation: string; statusUrl: string; responseUrl: string; cancelUrl: string; model: string; costUsd: number };
  const submit = submits(fake).at(-1)!;
  assert.equal(submit.path, '/fal-ai/veo3.1/fast', 'text to video goes to the endpoint id itself');
  assert.equal(submit.key, 'valid', 'Authorization: Key …');
  assert.deepEqual(submit.body, { prompt: 'a lighthouse at dusk', generate_audio: true, seed: 7, aspect_ratio: '16:9', duration: '8s', resolution: '720p' });
  assert.equal(handle.statusUrl, `${fake.url}/fal-ai/veo3.1/fast/requests/${handle.operation}/status`);
  assert.equal(handle.costUsd, 1.2, '8 s with sound at $0.15/s, as configured');
  const { status, seen } = await pollUntilEnd(provider, handle, subject);
  const progress = seen.map((pending) => (pending as { progress?: number }).progress);
  assert.equal(progress[0], 0, 'in queue first');
  assert.ok(progress.length >= 2 && progress.slice(1).every((value) => value === 50), `then in progress (while the video renders): ${progress.join(',')}`);
  assert.equal(status.state, 'output_ready');
  const output = (status as Extract<ProviderStatus, { state: 'output_ready' }>).output;
  assert.match(output.uri, /\/files\/\w+\/output\.mp4$/);
  const file = path.join(temporaryDirectory(), 'video.mp4');
  await provider.download(output, file, context);
  const info = await media.probe(file);
  assert.equal(info.video?.width, 1280);
  assert.ok(Math.abs(info.durationSeconds - 8) < 0.2, `8 s, got ${info.durationSeconds}`);
  assert.ok(info.audio);
  const fileRead = fake.requests.find((request) => request.path === new URL(output.uri).pathname);
  assert.equal(fileRead?.key, 'missing', 'the key is never sent to the file link');
  const reads = fake.requests.filter((request) => request.path.includes(`/requests/${handle.operation}`));
  assert.ok(reads.every((request) => request.key === 'valid' && request.path.startsWith('/fal-ai/veo3.1/fast/requests/')));
});

test('image-to-video: the status and response URLs lack the subpath; URLs rebuilt with it are not found', async () => {
  const provider = providerFor(fake);
  const subject = task({ parameters: withParameterDefaults({ prompt: 'it comes alive', model: 'veo3_fast', mode: 'first_and_last_frames', imageUrls: ['https://example.com/a.png'], durationSeconds: 6 }) });
  const handle = (await provider.start(subject, context)) as { operation: string; statusUrl: string; responseUrl: string };
  const submit = submits(fake).at(-1)!;
  assert.equal(submit.path, '/fal-ai/veo3.1/fast/image-to-video');
  assert.deepEqual(submit.body, { prompt: 'it comes alive', generate_audio: true, seed: 7, image_url: 'https://example.com/a.png', aspect_ratio: '16:9', duration: '6s', resolution: '720p' });
  assert.equal(handle.responseUrl, `${fake.url}/fal-ai/veo3.1/fast/requests/${handle.operation}`, 'no /image-to-video in it');
  const rebuilt = await fetch(`${fake.url}/fal-ai/veo3.1/fast/image-to-video/requests/${handle.operation}/status`, { headers: { authorization: `Key ${FAKE_FAL_KEY}` } });
  assert.equal(rebuilt.status, 404, 'a client that rebuilds URLs from the submit path fails');
  assert.equal((await pollUntilEnd(provider, handle, subject)).status.state, 'output_ready');
});

test('request translation: first and last frames, references (full model only), silent audio, negative prompt', async () => {
  const provider = providerFor(fake);
  await provider.start(task({ parameters: withParameterDefaults({ prompt: 'p', model: 'veo3', mode: 'first_and_last_frames', imageUrls: ['https://e.com/a.png', 'https://e.com/b.png'], durationSeconds: 4, generateAudio: false, negativePrompt: 'blur' }) }), context);
  let submit = submits(fake).at(-1)!;
  assert.equal(submit.path, '/fal-ai/veo3.1/first-last-frame-to-video');
  assert.deepEqual(submit.body, { prompt: 'p', generate_audio: false, seed: 7, negative_prompt: 'blur', first_frame_url: 'https://e.com/a.png', last_frame_url: 'https://e.com/b.png', aspect_ratio: '16:9', duration: '8s', resolution: '720p' });
  assert.equal(provider.capabilities('veo3_fast')?.modes.includes('reference_images'), false, 'Fast takes no reference images');
  assert.equal(provider.capabilities('veo3')?.extendsFrom, 'any_video', 'fal extends any video from a link');
  await provider.start(task({ parameters: withParameterDefaults({ prompt: 'p', model: 'veo3', mode: 'reference_images', imageUrls: ['https://e.com/a.png', 'https://e.com/b.png'] }) }), context);
  submit = submits(fake).at(-1)!;
  assert.equal(submit.path, '/fal-ai/veo3.1/reference-to-video');
  assert.deepEqual((submit.body as { image_urls: string[] }).image_urls, ['https://e.com/a.png', 'https://e.com/b.png']);
});

test('native extension: extend-video with video_url = the signed link to Segue\'s copy; the answer is source + 7 s', async () => {
  const provider = providerFor(fake);
  const source = task();
  const made = await pollUntilEnd(provider, await provider.start(source, context), source);
  const sourceLink = (made.status as Extract<ProviderStatus, { state: 'output_ready' }>).output.uri; // any link fal can fetch stands in for Segue's signed one
  const extension = task({ operation: 'extend', parentTaskId: source.id, prompt: 'the camera rises' });
  const started: StartContext = { signal, source: { task: { ...source, state: 'succeeded' }, link: sourceLink } };
  const handle = (await provider.start(extension, started)) as { statusUrl: string };
  const submit = submits(fake).at(-1)!;
  assert.equal(submit.path, '/fal-ai/veo3.1/fast/extend-video');
  assert.deepEqual(submit.body, { prompt: 'the camera rises', generate_audio: true, seed: 7, video_url: sourceLink, aspect_ratio: 'auto', duration: '7s', resolution: '720p' });
  assert.doesNotMatch(handle.statusUrl, /extend-video/);
  const { status } = await pollUntilEnd(provider, handle, extension);
  const file = path.join(temporaryDirectory(), 'extended.mp4');
  await provider.download((status as Extract<ProviderStatus, { state: 'output_ready' }>).output, file, context);
  assert.ok(Math.abs((await media.probe(file)).durationSeconds - 15) < 0.2, 'the whole video: 8 + 7 s');
});

test('a bridge extension: image-to-video from the last frame as a data: URI, 8 s at the fitted ratio', async () => {
  const provider = providerFor(fake);
  const frame = path.join(temporaryDirectory(), 'frame.png');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=180x320:rate=1:duration=1', '-frames:v', '1', frame]);
  const bytes = (await import('node:fs')).readFileSync(frame);
  const extension = task({ operation: 'extend', parentTaskId: 'p' });
  const handle = await provider.start(extension, { signal, source: { task: null, link: null, bridge: { frame: { bytes, mimeType: 'image/png' }, aspectRatio: '9:16' } } });
  const submit = submits(fake).at(-1)!;
  assert.equal(submit.path, '/fal-ai/veo3.1/fast/image-to-video');
  const body = submit.body as Record<string, unknown>;
  assert.equal(body['image_url'], `data:image/png;base64,${bytes.toString('base64')}`);
  assert.equal(body['aspect_ratio'], '9:16');
  assert.equal(body['duration'], '8s');
  const { status } = await pollUntilEnd(provider, handle, extension);
  const file = path.join(temporaryDirectory(), 'bridge.mp4');
  await provider.download((status as Extract<ProviderStatus, { state: 'output_ready' }>).output, file, context);
  assert.equal((await media.probe(file)).video?.height, 1280, 'a portrait clip');
});

test('upstream failures: a runner error, a content-policy refusal, an error that names the key (cleaned)', async () => {
  const provider = providerFor(fake);
  for (const [prompt, reason, expected] of [
    ['[fake:error] x', 'generation_failed', /runner_server_error/],
    ['[fake:policy] x', 'content_policy', /content_policy_violation: The content was flagged/],
    ['[fake:error-with-key] x', 'generation_failed', /\[redacted\]/],
  ] as const) {
    const subject = task({ prompt });
    const { status } = await pollUntilEnd(provider, await provider.start(subject, context), subject);
    assert.equal(status.state, 'failed', prompt);
    const failed = status as Extract<ProviderStatus, { state: 'failed' }>;
    assert.equal(failed.isRetryable, false);
    assert.equal(failed.reason, reason);
    assert.match(failed.message, expected);
    assert.ok(!failed.message.includes(FAKE_FAL_KEY), 'the key never leaves the adapter');
  }
});

test('rate limits: a 429 on a status read is retryable with fal\'s delay and polling goes on; a 429 submit may be retried; a bad key is not', async () => {
  const provider = providerFor(fake);
  const subject = task();
  const handle = await provider.start(subject, context);
  await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ throttleStatus: 1 }) });
  const throttled = await rejection(provider.status(handle, subject, context));
  assert.ok(throttled instanceof ProviderError);
  assert.equal(throttled.isRetryable, true);
  assert.equal(throttled.retryAfterMs, 1000);
  assert.match(throttled.message, /HTTP 429/);
  assert.equal((await pollUntilEnd(provider, handle, subject)).status.state, 'output_ready', 'polling goes on after the 429');

  await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ failSubmits: { status: 429, remaining: 1 } }) });
  const busy = await rejection(provider.start(task(), context));
  assert.ok(busy instanceof ProviderError && busy.isRetryable && busy.retryAfterMs === 1000, '429 on submit backs off (or falls over)');
  const wrongKey = providerFor(fake, { client: clientFor(fake, 'fal-wrong-key-000000') });
  const refused = await rejection(wrongKey.start(task(), context));
  assert.ok(refused instanceof ProviderError && !refused.isRetryable, 'a bad key is not retried');
  assert.match(refused.message, /HTTP 401/);
  assert.ok(!refused.message.includes('fal-wrong-key-000000'));
  const invalid = await rejection(clientFor(fake).submit('fal-ai/veo3.1', { prompt: 'p', aspect_ratio: '16:9', duration: '7s', resolution: '720p', generate_audio: true }, null, signal));
  assert.ok(invalid instanceof ProviderError && !invalid.isRetryable && invalid.reason === 'input_unusable', 'fal\'s 422 is a refusal of the input');
  assert.match(invalid.message, /HTTP 422 literal_error: Input should be '4s' or '6s' or '8s'/);
});

test('an expired output link is a final failure of the download; a link to a private address is refused without the permission', async () => {
  const provider = providerFor(fake);
  const subject = task();
  const { status } = await pollUntilEnd(provider, await provider.start(subject, context), subject);
  const output = (status as Extract<ProviderStatus, { state: 'output_ready' }>).output;
  const guarded = providerFor(fake, { client: clientFor(fake, FAKE_FAL_KEY, false) });
  const refused = await rejection(guarded.download(output, path.join(temporaryDirectory(), 'x.mp4'), context));
  assert.ok(refused instanceof ProviderError && !refused.isRetryable, 'fal\'s links go through the address guard');
  assert.match(refused.message, /private, loopback/);
  await fetch(`${fake.url}/_fake/expire-files`, { method: 'POST' });
  const expired = await rejection(provider.download(output, path.join(temporaryDirectory(), 'y.mp4'), context));
  assert.ok(expired instanceof ProviderError && !expired.isRetryable);
  assert.match(expired.message, /HTTP 404 \(expired or gone\)/);
});

test('cancel before start: a request still IN_QUEUE past queueTimeoutSeconds is cancelled and fails; a started one is never cancelled', async () => {
  let now = Date.now();
  const provider = providerFor(fake, { entry: { queueTimeoutSeconds: 60 }, now: () => now });
  const stuck = task({ prompt: '[fake:stuck] a queue', startedAt: now });
  const handle = (await provider.start(stuck, context)) as { operation: string };
  assert.equal((await provider.status(handle, stuck, context)).state, 'pending');
  now += 61_000;
  const status = await provider.status(handle, stuck, context);
  assert.equal(status.state, 'failed');
  assert.equal((status as Extract<ProviderStatus, { state: 'failed' }>).reason, 'timeout');
  assert.match((status as Extract<ProviderStatus, { state: 'failed' }>).message, /cancelled before it started \(not billed\)/);
  assert.ok(fake.requests.some((request) => request.method === 'PUT' && request.path === `/fal-ai/veo3.1/fast/requests/${handle.operation}/cancel`));
  assert.equal(fake.queue.get(handle.operation)?.cancelled, true);

  const started = task({ startedAt: now });
  const running = await provider.start(started, context);
  await provider.status(running, started, context);
  assert.equal((await provider.status(running, started, context)).state, 'pending', 'in progress now');
  now += 61_000;
  const { status: finished } = await pollUntilEnd(provider, running, started);
  assert.equal(finished.state, 'output_ready', 'a request that started is not cancelled, however long it took');
});

test('native extension needs a public URL fal can reach: refused (with the reason) when SEGUE_PUBLIC_URL is loopback', async () => {
  assert.match(loopbackLinkRefusal('http://127.0.0.1:8080', 'https://queue.fal.run', 'fal')!, /SEGUE_PUBLIC_URL \(http:\/\/127\.0\.0\.1:8080\) is a loopback address fal cannot reach/);
  assert.ok(loopbackLinkRefusal('http://localhost:8080', 'https://queue.fal.run', 'fal'));
  assert.ok(loopbackLinkRefusal('http://[::1]:8080', 'https://queue.fal.run', 'fal'));
  assert.equal(loopbackLinkRefusal('https://videos.example.com', 'https://queue.fal.run', 'fal'), undefined);
  assert.equal(loopbackLinkRefusal('http://127.0.0.1:8080', 'http://127.0.0.1:9000', 'fal'), undefined, 'a fal on this machine (the fake) reaches it');
  const provider = providerFor(fake, { linkRefusal: loopbackLinkRefusal('http://127.0.0.1:8080', 'https://queue.fal.run', 'fal') });
  assert.match(provider.linkExtensionRefusal()!, /loopback/);
  const before = fake.requests.length;
  const refused = await rejection(provider.start(task({ operation: 'extend', parentTaskId: 'p' }), { signal, source: { task: null, link: 'http://127.0.0.1:8080/files/x' } }));
  assert.ok(refused instanceof ProviderError && !refused.isRetryable && refused.reason === 'input_unusable');
  assert.match(refused.message, /cannot be extended natively on fal: SEGUE_PUBLIC_URL/);
  assert.equal(fake.requests.length, before, 'nothing was sent to fal');
});

test('`segue fake-upstream fal` serves the fake: it prints its URL, key and JWKS URL, and takes a submit', async () => {
  const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'segue.js');
  const child = spawn(process.execPath, [cli, 'fake-upstream', 'fal', '--port', '0', '--api-key', 'cli-fal-key'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(text.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`the fake exited with ${code}`)));
    });
    const printed = JSON.parse(line) as { fake: string; url: string; apiKey: string; jwksUrl: string };
    assert.equal(printed.fake, 'fal');
    assert.equal(printed.apiKey, 'cli-fal-key');
    const submitted = await fetch(`${printed.url}/fal-ai/veo3.1/fast/image-to-video`, {
      method: 'POST',
      headers: { authorization: 'Key cli-fal-key', 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'p', image_url: 'https://example.com/a.png' }),
    });
    const answer = (await submitted.json()) as { status_url: string };
    assert.equal(submitted.status, 200);
    assert.doesNotMatch(answer.status_url, /image-to-video/);
    assert.equal(((await (await fetch(printed.jwksUrl)).json()) as { keys: Array<{ crv: string }> }).keys[0]!.crv, 'Ed25519');
  } finally {
    child.kill('SIGTERM');
  }
});

test('the key goes only to the configured queue: a status URL on another origin is refused before any request', async () => {
  const client = clientFor(fake);
  const provider = providerFor(fake, { client });
  const subject = task();
  const handle = (await provider.start(subject, context)) as { statusUrl: string };
  const foreign = await rejection(client.status('https://collector.example.com/fal-ai/veo3.1/fast/requests/x/status', signal));
  assert.ok(foreign instanceof ProviderError && !foreign.isRetryable);
  assert.match(foreign.message, /another origin \(https:\/\/collector\.example\.com\)/);
  const alias = handle.statusUrl.replace('127.0.0.1', 'localhost');
  assert.equal((await client.status(alias, signal)).status.length > 0, true, 'the same local queue under another loopback name');
});
