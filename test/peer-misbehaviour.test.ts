import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { MediaError } from '../src/domain/errors.js';
import { SafeHttpClient } from '../src/net/safe-http.js';
import { ProviderError } from '../src/ports/video-provider.js';
import type { GeminiCreateBody } from '../src/providers/gemini/gemini-api-types.js';
import { GeminiClient } from '../src/providers/gemini/gemini-client.js';
import { drip, type PeerBehaviour, type RawPeer, responseHead, startRawPeer } from './helpers/raw-peer.js';
import { temporaryDirectory } from './helpers/test-segue.js';

// Every outbound client, against a real TCP peer that misbehaves: each call ends with the
// client's own error (or a bounded answer) within its limits, and the same client works after.

const mebibyte = 1024 * 1024;
const downloadCap = 8 * mebibyte;
const stallTimeoutMs = 500;
const mediaTimeoutMs = 1200;
const geminiTimeoutMs = 700;
/** Answers every client can use: an operation name for Gemini, a few bytes for the rest. */
const soundBody = JSON.stringify({ name: 'models/veo-3.1-generate-preview/operations/sound', done: false });
const sound: PeerBehaviour = (socket) => socket.end(responseHead('200 OK', { 'content-type': 'application/json', 'content-length': soundBody.length }) + soundBody);

const directory = temporaryDirectory('segue-peers-');
let peer: RawPeer;
let media: SafeHttpClient;
let gemini: GeminiClient;

before(async () => {
  peer = await startRawPeer(sound);
  media = new SafeHttpClient({ allowPrivateNetworks: true }, { stallTimeoutMs });
  gemini = new GeminiClient({ baseUrl: peer.url, apiKey: 'AIza-peer-test', timeoutMs: geminiTimeoutMs, maxDownloadBytes: downloadCap, stallTimeoutMs });
});

after(async () => {
  await Promise.all([media.close(), gemini.close(), peer.close()]);
  fs.rmSync(directory, { recursive: true, force: true });
});

type ClientName = 'media download' | 'callback POST' | 'Gemini create' | 'Gemini poll' | 'Gemini download';

interface Client {
  readonly errorType: new (...args: never[]) => Error;
  /** The longest the call may take by its configured limits. */
  readonly limitMs: number;
  /** Makes the call; answers the file size (downloads) or the status (everything else). */
  call(file: string): Promise<number>;
}

const createBody = { instances: [{ prompt: 'a lighthouse' }], parameters: {} } as unknown as GeminiCreateBody;
const clients: Record<ClientName, Client> = {
  'media download': {
    errorType: MediaError,
    limitMs: mediaTimeoutMs,
    call: async (file) => (await media.download(`${peer.url}/clip.mp4`, file, { maxBytes: downloadCap, timeoutMs: mediaTimeoutMs })).bytes,
  },
  'callback POST': {
    errorType: MediaError,
    limitMs: mediaTimeoutMs,
    call: async () => (await media.postJson(`${peer.url}/hook`, '{"taskId":"t1"}', {}, { timeoutMs: mediaTimeoutMs, maxBodyBytes: 512 })).statusCode,
  },
  'Gemini create': {
    errorType: ProviderError,
    limitMs: geminiTimeoutMs,
    call: async () => (await gemini.create('veo-3.1-generate-preview', createBody, AbortSignal.timeout(30_000)), 200),
  },
  'Gemini poll': {
    errorType: ProviderError,
    limitMs: geminiTimeoutMs,
    call: async () => (await gemini.operation('models/veo-3.1-generate-preview/operations/op1', AbortSignal.timeout(30_000)), 200),
  },
  'Gemini download': {
    errorType: ProviderError,
    limitMs: geminiTimeoutMs * 5,
    call: async (file) => (await gemini.download(`${peer.url}/v1beta/files/f1:download?alt=media`, file, AbortSignal.timeout(30_000)), fs.statSync(file).size),
  },
};

/** Per client: a RegExp = rejects with the client's error type and a matching message; a number = answers it. */
type Outcomes = Record<ClientName, RegExp | number>;
const everyClient = (outcome: RegExp): Outcomes => ({
  'media download': outcome, 'callback POST': outcome, 'Gemini create': outcome, 'Gemini poll': outcome, 'Gemini download': outcome,
});
/** A body Gemini's JSON calls refuse by size, the callback reads 512 bytes of, and downloads keep whole. */
const bounded = (bytes: number | RegExp): Outcomes => ({
  'media download': bytes, 'callback POST': 200, 'Gemini create': /more than 1048576 bytes/, 'Gemini poll': /more than 1048576 bytes/, 'Gemini download': bytes,
});

const backpressureBody = Buffer.alloc(4 * mebibyte, 7);
const html = '<html><body>not what you wanted</body></html>';
// Concatenated gzip members are one valid gzip stream: 1.6 MB on the wire, 1.6 GiB inflated.
const bomb = Buffer.concat(new Array<Buffer>(100).fill(gzipSync(Buffer.alloc(16 * mebibyte))));
const overCap = Buffer.alloc(downloadCap + mebibyte, 1);
const chunked = (body: Buffer): string => `${body.length.toString(16)}\r\n`;

const cases: Array<{ name: string; behaviour: PeerBehaviour; outcomes: Outcomes }> = [
  {
    name: 'slow drip of the body (a byte every 100 ms)',
    behaviour: (socket) => {
      socket.write(responseHead('200 OK', { 'content-type': 'application/json', 'content-length': 100_000 }));
      drip(socket, 'x'.repeat(100_000), 100);
    },
    outcomes: everyClient(/timed out/),
  },
  {
    name: 'slow drip of the response head',
    behaviour: (socket) => drip(socket, responseHead('200 OK', { 'x-padding': 'y'.repeat(10_000) }), 50),
    outcomes: everyClient(/stalled/),
  },
  {
    name: 'silence after the response head',
    behaviour: (socket) => socket.write(responseHead('200 OK', { 'content-length': 1000 })),
    outcomes: everyClient(/stalled/),
  },
  {
    name: 'connection closed mid-body',
    behaviour: (socket) => socket.end(responseHead('200 OK', { 'content-type': 'application/json', 'content-length': 100_000 }) + '{"name": "'.padEnd(100, 'x')),
    outcomes: everyClient(/request failed|could not be reached/),
  },
  {
    name: 'HTTP/1.0: a full body, then the close at once while the client holds back',
    behaviour: (socket) => {
      socket.write(responseHead('200 OK', { 'content-type': 'video/mp4', 'content-length': backpressureBody.length }, 'HTTP/1.0'));
      socket.end(backpressureBody);
    },
    outcomes: bounded(backpressureBody.length),
  },
  {
    name: 'more than 1 MB of response headers',
    behaviour: (socket) => {
      const filler = Object.fromEntries(Array.from({ length: 1100 }, (_, index) => [`x-filler-${index}`, 'z'.repeat(1000)]));
      socket.end(responseHead('200 OK', { ...filler, 'content-length': 0 }));
    },
    outcomes: everyClient(/head is larger than 65536 bytes/),
  },
  {
    name: 'endless redirects',
    behaviour: (socket, request) => socket.end(responseHead('302 Found', { location: `${request.path.split('?')[0]}?again=1`, 'content-length': 0 })),
    outcomes: {
      'media download': /too many redirects/, 'callback POST': 302, 'Gemini create': /Gemini 302/, 'Gemini poll': /Gemini 302/,
      'Gemini download': /redirected too many times/,
    },
  },
  {
    name: 'wrong content type',
    behaviour: (socket) => socket.end(responseHead('200 OK', { 'content-type': 'text/html', 'content-length': html.length }) + html),
    outcomes: { ...bounded(html.length), 'Gemini create': /not JSON/, 'Gemini poll': /not JSON/ },
  },
  {
    name: 'gzip bomb: counted as the bytes on the wire, never inflated',
    behaviour: (socket) => {
      socket.write(responseHead('200 OK', { 'content-type': 'video/mp4', 'content-encoding': 'gzip', 'content-length': bomb.length }));
      socket.end(bomb);
    },
    outcomes: bounded(bomb.length),
  },
  {
    name: 'a body over the cap, announced by Content-Length',
    behaviour: (socket) => {
      socket.write(responseHead('200 OK', { 'content-type': 'video/mp4', 'content-length': overCap.length }));
      socket.end(overCap);
    },
    outcomes: bounded(/larger than 8388608 bytes/),
  },
  {
    name: 'a body over the cap, chunked without Content-Length',
    behaviour: (socket) => {
      socket.write(responseHead('200 OK', { 'content-type': 'video/mp4', 'transfer-encoding': 'chunked' }));
      const piece = overCap.subarray(0, 64 * 1024);
      for (let sent = 0; sent < overCap.length; sent += piece.length) socket.write(`${chunked(piece)}${piece.toString('latin1')}\r\n`, 'latin1');
      socket.end('0\r\n\r\n');
    },
    outcomes: bounded(/larger than 8388608 bytes/),
  },
];

for (const peerCase of cases) {
  for (const [name, client] of Object.entries(clients) as Array<[ClientName, Client]>) {
    test(`${name}: ${peerCase.name}`, async () => {
      const file = path.join(directory, `${name.replace(/\W/g, '-')}-${cases.indexOf(peerCase)}`);
      const expected = peerCase.outcomes[name];
      peer.behave(peerCase.behaviour);
      try {
        const settled = await withinBound(client.call(file), client.limitMs + 1500);
        if (expected instanceof RegExp) {
          assert.ok(settled.error instanceof client.errorType, `expected a ${client.errorType.name}, got ${String(settled.error ?? settled.value)}`);
          assert.match(settled.error.message, expected);
          assert.equal(fs.existsSync(file), false, 'a failed download leaves no file');
        } else {
          assert.equal(settled.error, undefined, `expected an answer, got ${String(settled.error)}`);
          assert.equal(settled.value, expected);
        }
      } finally {
        peer.dropConnections();
        peer.behave(sound);
      }
      assert.equal(await client.call(file), name.endsWith('download') ? soundBody.length : 200, 'the same client works afterwards');
    });
  }
}

test('an HTTP/1.0 peer that closes right after a full body, while the client holds back, does not crash the process', async () => {
  const script = fileURLToPath(new URL('./helpers/closing-peer-child.js', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0, `the child died:\n${stderr}`);
  const size = 8 * 1024 * 1024;
  assert.deepEqual(stdout.trim().split('\n'), [...new Array(5).fill(`media ${size} ${size}`), ...new Array(5).fill(`gemini ${size}`)]);
});

/** Settles `call` into a value or an error, failing the test if it takes longer than `boundMs`. */
async function withinBound(call: Promise<number>, boundMs: number): Promise<{ value?: number; error?: Error }> {
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the call did not end within ${boundMs} ms`)), boundMs);
  });
  try {
    return await Promise.race([call.then((value) => ({ value }), (error: Error) => ({ error })), overdue]);
  } finally {
    clearTimeout(timer);
  }
}
