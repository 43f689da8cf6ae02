import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { urlSigningSecret } from '../src/app/url-signing-secret.js';
import { UrlSigner } from '../src/blobs/signed-urls.js';
import { startTestSegue, type TestSegue } from './helpers/test-segue.js';
import { endTask, succeedQueuedTask } from './helpers/terminal-tasks.js';

/*
 * Hostile input on every route: whatever a client sends, Segue answers with the dialect's
 * documented code, never a 5xx, never hangs, and keeps serving. Each table row is one request.
 */

const ADMIN_KEY = 'admin-key-hostile-0123456789';
/** Small, so that an oversized media body is cheap to send: the media routes take about 1.4 MB. */
const MEDIA_MAX_BYTES = 256 * 1024;
const MEDIA_BODY_LIMIT = Math.ceil((MEDIA_MAX_BYTES * 4) / 3) + 1024 * 1024;
const FIELDS_BODY_LIMIT = 64 * 1024;
const REQUEST_TIMEOUT_MS = 15_000;

type Method = 'GET' | 'POST' | 'PUT' | 'HEAD';
type Dialect = 'veo' | 'universal' | 'admin' | 'files' | 'ops';

interface Case {
  readonly name: string;
  readonly method: Method;
  readonly url: string;
  /** The Bearer token; the dialect's valid one unless given (null: no Authorization header). */
  readonly key?: string | null;
  /** A whole Authorization header instead of `Bearer <key>`. */
  readonly authorization?: string;
  /** Sent JSON-encoded. */
  readonly body?: unknown;
  /** Sent as is (instead of `body`). */
  readonly raw?: string | Buffer;
  /** The Content-Type; application/json with a body unless given (null: none). */
  readonly contentType?: string | null;
  /** The documented answer: the envelope code on the Veo dialect, the HTTP status elsewhere. */
  readonly expect: number | readonly number[];
  /** What the message (Veo `msg`, universal `message`, admin `error`) must say. */
  readonly message?: RegExp;
  /** When a task was created: read it back through its dialect (what was stored must present). */
  readonly readBack?: boolean;
}

let harness: TestSegue;
const errorLogs: string[] = [];
let otherKey: string;
let otherKeyId: string;
let revokedKey: string;
/** Own tasks: one queued; one succeeded, with its video on disk, that the cases extend and upgrade. */
let queuedTask: string;
let succeededTask: string;
/** Succeeded, and upgraded by nobody: a 4K request checks its callBackUrl only when it starts an upgrade. */
let fourKSource: string;
let fileLink: URL;
let otherTask: string;
let otherDelivery: string;
let otherLink: string;

before(async () => {
  harness = await startTestSegue({
    runWorker: false,
    environment: { SEGUE_ADMIN_KEY: ADMIN_KEY, SEGUE_MEDIA_MAX_BYTES: String(MEDIA_MAX_BYTES), SEGUE_MAX_UNFINISHED_TASKS: '100000' },
    // Every unexpected error is logged at level error: the suite asserts there were none.
    logger: pino({ level: 'error' }, { write: (line: string) => void errorLogs.push(line) }),
  });
  assert.equal(harness.segue.config.allowPrivateNetworks, false, 'the address cases need private networks refused');
  const other = await harness.segue.keys.create('other tenant', 100_000);
  otherKey = other.key;
  otherKeyId = other.id;
  const revoked = await harness.segue.keys.create('revoked', 100_000);
  await harness.segue.keys.revoke(revoked.id);
  revokedKey = revoked.key;

  queuedTask = await veoGenerate(harness.key);
  succeededTask = (await succeedQueuedTask(harness.segue.storage, await veoGenerate(harness.key))).id;
  fourKSource = (await succeedQueuedTask(harness.segue.storage, await veoGenerate(harness.key))).id;
  const videoPath = path.join(harness.dataDir, 'blobs', 'tasks', succeededTask, 'video.mp4');
  fs.mkdirSync(path.dirname(videoPath), { recursive: true });
  fs.writeFileSync(videoPath, Buffer.alloc(4096, 7));
  fileLink = new URL((await send({ method: 'GET', url: `/api/v1/veo/record-info?taskId=${succeededTask}` })).json().data.response.resultUrls[0]);

  otherTask = (await succeedQueuedTask(harness.segue.storage, await veoGenerate(otherKey))).id;
  const otherInfo = await send({ method: 'GET', url: `/api/v1/veo/record-info?taskId=${otherTask}`, key: otherKey });
  otherLink = otherInfo.json().data.response.resultUrls[0];
  const delivered = await endTask(harness.segue.storage, otherKeyId, 'https://example.com/callback');
  otherDelivery = (await send({ method: 'GET', url: `/api/v1/callbacks?taskId=${delivered.id}`, key: otherKey })).json().data.deliveries[0].id;
});

after(() => harness.close());

async function veoGenerate(key: string): Promise<string> {
  const reply = await send({ method: 'POST', url: '/api/v1/veo/generate', key, body: { prompt: 'a quiet harbour at dawn' } });
  assert.equal(reply.json().code, 200, reply.body);
  return reply.json().data.taskId;
}

function dialectOf(url: string): Dialect {
  if (url.startsWith('/api/v1/')) return 'veo';
  if (url.startsWith('/v2/')) return 'universal';
  if (url.startsWith('/admin')) return 'admin';
  if (url.startsWith('/files/')) return 'files';
  return 'ops';
}

/** One request through inject, failing (instead of hanging) after REQUEST_TIMEOUT_MS. */
async function send(request: Omit<Case, 'name' | 'expect'>) {
  const dialect = dialectOf(request.url);
  const key = request.key === undefined ? (dialect === 'admin' ? ADMIN_KEY : harness.key) : request.key;
  const authorization = request.authorization ?? (key ? `Bearer ${key}` : undefined);
  const payload = request.raw ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  const contentType = request.contentType === undefined ? (payload === undefined ? null : 'application/json') : request.contentType;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      harness.segue.http.inject({
        method: request.method,
        url: request.url,
        headers: { ...(authorization ? { authorization } : {}), ...(contentType ? { 'content-type': contentType } : {}) },
        ...(payload !== undefined ? { payload } : {}),
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends a case and asserts the dialect's documented answer. */
async function check(t: TestContext, hostile: Case): Promise<void> {
  await t.test(hostile.name, { timeout: 2 * REQUEST_TIMEOUT_MS }, async () => {
    const response = await send(hostile);
    const expected = typeof hostile.expect === 'number' ? [hostile.expect] : hostile.expect;
    const where = `${hostile.method} ${hostile.url.slice(0, 120)}: ${response.statusCode} ${response.body.slice(0, 300)}`;
    assert.ok(response.statusCode < 500, `never a 5xx (${where})`);
    const dialect = dialectOf(hostile.url);
    let message: string | undefined;
    if (dialect === 'veo') {
      assert.equal(response.statusCode, 200, `the Veo dialect always answers HTTP 200 (${where})`);
      const envelope = response.json();
      assert.deepEqual(Object.keys(envelope).sort(), ['code', 'data', 'msg'], where);
      assert.ok(expected.includes(envelope.code), `envelope code ${envelope.code}, expected ${expected.join(' or ')} (${where})`);
      message = envelope.msg;
      if (hostile.readBack && envelope.code === 200 && typeof envelope.data?.taskId === 'string') {
        const info = await send({ method: 'GET', url: `/api/v1/veo/record-info?taskId=${envelope.data.taskId}` });
        assert.equal(info.json().code, 200, `the stored task reads back (${info.body.slice(0, 300)})`);
      }
    } else {
      assert.ok(expected.includes(response.statusCode), `HTTP ${response.statusCode}, expected ${expected.join(' or ')} (${where})`);
      if (dialect === 'universal' && response.statusCode >= 400) {
        const body = response.json();
        assert.deepEqual(Object.keys(body).sort(), ['message', 'path', 'requestId', 'statusCode', 'timestamp'], where);
        assert.equal(body.statusCode, response.statusCode, where);
        message = body.message;
      }
      if (dialect === 'universal' && hostile.readBack && response.statusCode === 200) {
        const fetched = await send({ method: 'GET', url: `/v2/video/generations?generation_id=${response.json().id}` });
        assert.equal(fetched.statusCode, 200, `the stored generation reads back (${fetched.body.slice(0, 300)})`);
      }
      if (dialect === 'admin' && response.statusCode >= 400) {
        message = response.json().error;
        assert.equal(typeof message, 'string', where);
      }
    }
    if (hostile.message) assert.match(message ?? '', hostile.message, where);
  });
}

async function checkAll(t: TestContext, cases: readonly Case[]): Promise<void> {
  for (const hostile of cases) await check(t, hostile);
}

// ---------------------------------------------------------------------------------------------
// The routes and what each one documents.

const VEO_VALIDATION = 422;
const UNIVERSAL_VALIDATION = 400;
const ADMIN_VALIDATION = 400;

interface BodyRoute {
  readonly method: 'POST' | 'PUT';
  readonly url: () => string;
  /** A body the route accepts (fields are replaced one at a time by hostile values). */
  readonly valid: () => Record<string, unknown>;
  /** Fields that hold text. */
  readonly strings: readonly string[];
  /** Text fields where `null` means "absent" (lenient Veo clients send it; admin clears a limit with it). */
  readonly nullable: readonly string[];
  /** The route's answer for an id that names nothing of this key's, if it takes one. */
  readonly unknownId?: number;
  /** Whether no body, or `null`, is a valid body (every field is optional). */
  readonly emptyBodyValid?: boolean;
  /** What the route answers to a body it accepts (the 4K route: 422 "processing" once started). */
  readonly accepted: readonly number[];
  readonly validation: number;
  readonly bodyLimit: number;
}

const universalModelBodies = {
  text: { model: 'google/veo-3.1-t2v-fast', prompt: 'a quiet harbour' },
  image: { model: 'google/veo-3.1-i2v', prompt: 'it moves', image_url: 'https://example.com/a.png' },
  firstLast: { model: 'google/veo-3.1-first-last-image-to-video', prompt: 'it moves', image_url: 'https://example.com/a.png', last_image_url: 'https://example.com/b.png' },
  reference: { model: 'google/veo-3.1-reference-to-video', prompt: 'it moves', image_urls: ['https://example.com/a.png'] },
  extend: { model: 'google/veo3-1-fast-extend-video', prompt: 'and on', video_url: 'https://example.com/clip.mp4' },
};

const bodyRoutes: Record<string, BodyRoute> = {
  'veo generate': {
    method: 'POST',
    url: () => '/api/v1/veo/generate',
    valid: () => ({ prompt: 'a quiet harbour' }),
    strings: ['prompt', 'model', 'generationType', 'aspectRatio', 'aspect_ratio', 'callBackUrl', 'watermark'],
    nullable: ['model', 'generationType', 'aspectRatio', 'aspect_ratio', 'callBackUrl', 'watermark'],
    accepted: [200],
    validation: VEO_VALIDATION,
    bodyLimit: MEDIA_BODY_LIMIT,
  },
  'veo generate with an image': {
    method: 'POST',
    url: () => '/api/v1/veo/generate',
    valid: () => ({ prompt: 'it moves', imageUrls: ['https://example.com/a.png'] }),
    strings: ['imageUrls.0'],
    nullable: [],
    accepted: [200],
    validation: VEO_VALIDATION,
    bodyLimit: MEDIA_BODY_LIMIT,
  },
  'veo extend': {
    method: 'POST',
    url: () => '/api/v1/veo/extend',
    valid: () => ({ taskId: succeededTask, prompt: 'and on' }),
    strings: ['taskId', 'prompt', 'model', 'callBackUrl', 'watermark'],
    nullable: ['model', 'callBackUrl', 'watermark'],
    unknownId: 404,
    accepted: [200],
    validation: VEO_VALIDATION,
    bodyLimit: FIELDS_BODY_LIMIT,
  },
  'veo get-4k-video': {
    method: 'POST',
    url: () => '/api/v1/veo/get-4k-video',
    valid: () => ({ taskId: succeededTask }),
    strings: ['taskId', 'callBackUrl'],
    nullable: ['callBackUrl'],
    unknownId: 422,
    accepted: [200, 422],
    validation: VEO_VALIDATION,
    bodyLimit: FIELDS_BODY_LIMIT,
  },
  'veo callbacks redeliver': {
    method: 'POST',
    url: () => '/api/v1/callbacks/redeliver',
    valid: () => ({ exhausted: true }),
    strings: ['deliveryId'],
    nullable: ['deliveryId'],
    unknownId: 404,
    accepted: [200, 404],
    validation: VEO_VALIDATION,
    bodyLimit: FIELDS_BODY_LIMIT,
  },
  ...Object.fromEntries(
    Object.entries(universalModelBodies).map(([kind, body]) => [
      `universal ${kind}`,
      {
        method: 'POST',
        url: () => '/v2/video/generations',
        valid: () => structuredClone(body) as Record<string, unknown>,
        strings: [
          ...Object.keys(body).filter((field) => field !== 'image_urls'),
          ...(kind === 'reference' ? ['image_urls.0'] : []),
          ...(kind === 'text' ? ['provider', 'negative_prompt', 'person_generation', 'aspect_ratio', 'resolution'] : []),
        ],
        nullable: [],
        accepted: [200],
        validation: UNIVERSAL_VALIDATION,
        bodyLimit: MEDIA_BODY_LIMIT,
      } satisfies BodyRoute,
    ]),
  ),
  'admin create key': {
    method: 'POST',
    url: () => '/admin/keys',
    valid: () => ({ name: 'made by the hostile suite' }),
    strings: ['name', 'rateLimit'],
    nullable: ['rateLimit'],
    accepted: [200],
    validation: ADMIN_VALIDATION,
    bodyLimit: FIELDS_BODY_LIMIT,
  },
  'admin key limits': {
    method: 'PUT',
    url: () => `/admin/keys/${otherKeyId}/limits`,
    valid: () => ({}),
    strings: ['rateLimit'],
    nullable: ['rateLimit'],
    emptyBodyValid: true,
    accepted: [200],
    validation: ADMIN_VALIDATION,
    bodyLimit: FIELDS_BODY_LIMIT,
  },
  'admin credits': {
    method: 'POST',
    url: () => `/admin/keys/${otherKeyId}/credits`,
    valid: () => ({ amount: 1 }),
    strings: ['note'],
    nullable: [],
    accepted: [200],
    validation: ADMIN_VALIDATION,
    bodyLimit: FIELDS_BODY_LIMIT,
  },
  'admin service': {
    method: 'PUT',
    url: () => '/admin/service',
    valid: () => ({}),
    strings: ['disabledFeatures.0'],
    nullable: [],
    emptyBodyValid: true,
    accepted: [200],
    validation: ADMIN_VALIDATION,
    bodyLimit: FIELDS_BODY_LIMIT,
  },
  'admin settle': {
    method: 'POST',
    url: () => `/admin/tasks/${queuedTask}/settle`,
    valid: () => ({ outcome: 'refund' }),
    strings: ['outcome'],
    nullable: [],
    unknownId: 404,
    accepted: [200, 409],
    validation: ADMIN_VALIDATION,
    bodyLimit: FIELDS_BODY_LIMIT,
  },
};

/** One body route per URL (the universal models share one route, as the Veo generate bodies do). */
function onePerUrl(): Array<[string, BodyRoute]> {
  const seen = new Set<string>();
  return Object.entries(bodyRoutes).filter(([, route]) => !seen.has(route.url()) && Boolean(seen.add(route.url())));
}

/** A body over the route's limit: the Veo dialect's validation code, elsewhere HTTP 413. */
const tooLargeAnswer = (url: string): number => (dialectOf(url) === 'veo' ? VEO_VALIDATION : 413);

/** The body with `field` (a dotted path, `imageUrls.0`) set to `value`. */
function withField(body: Record<string, unknown>, field: string, value: unknown): Record<string, unknown> {
  const [name, index] = field.split('.') as [string, string | undefined];
  if (index === undefined) return { ...body, [name]: value };
  return { ...body, [name]: [value] };
}

/** Credentials that must not open a scope: [label, Bearer token or null, whole header]. */
function refusedCredentials(url: string): Array<[string, string | null, string?]> {
  const valid = dialectOf(url) === 'admin' ? ADMIN_KEY : harness.key;
  return [
    ['no key', null],
    ['a wrong key', 'sk-wrong-0000000000000000'],
    ['a revoked key', revokedKey],
    ['another scheme', null, `Basic ${valid}`],
    ['two tokens', null, `Bearer ${valid} ${valid}`],
    ['a key far too long', 'k'.repeat(10_000)],
    ...(dialectOf(url) === 'admin' ? [['a tenant key', harness.key] as [string, string]] : []),
  ];
}

const unauthorizedMessages: Record<string, RegExp> = {
  veo: /^You do not have access permissions$/,
  universal: /requires a valid API key/,
  admin: /^admin key required$/,
};

// ---------------------------------------------------------------------------------------------

const queryRoutes = [
  { method: 'GET', url: () => `/api/v1/veo/record-info?taskId=${queuedTask}` },
  { method: 'GET', url: () => `/api/v1/veo/get-1080p-video?taskId=${queuedTask}` },
  { method: 'GET', url: () => `/api/v1/callbacks?taskId=${queuedTask}` },
  { method: 'GET', url: () => '/api/v1/chat/credit' },
  { method: 'GET', url: () => `/v2/video/generations?generation_id=${queuedTask}` },
  { method: 'GET', url: () => '/admin/keys' },
  { method: 'GET', url: () => `/admin/keys/${otherKeyId}` },
  { method: 'POST', url: () => `/admin/keys/${otherKeyId}/rotate` },
  { method: 'GET', url: () => `/admin/keys/${otherKeyId}/ledger` },
  { method: 'GET', url: () => '/admin/service' },
  { method: 'GET', url: () => '/admin/tasks' },
] as const;

test("every route refuses a missing, wrong or revoked key with its dialect's 401", async (t) => {
  const routes = [
    ...Object.values(bodyRoutes).map((route) => ({ method: route.method, url: route.url, body: route.valid })),
    ...queryRoutes.map((route) => ({ ...route, body: undefined })),
    { method: 'POST', url: () => `/admin/keys/${otherKeyId}/revoke`, body: undefined },
  ];
  const cases: Case[] = [];
  for (const route of routes) {
    const url = route.url();
    for (const [label, key, authorization] of refusedCredentials(url)) {
      cases.push({
        name: `${route.method} ${url.split('?')[0]} with ${label}`,
        method: route.method as Method,
        url,
        key,
        ...(authorization ? { authorization } : {}),
        ...(route.body ? { body: route.body() } : {}),
        expect: 401,
        message: unauthorizedMessages[dialectOf(url)]!,
      });
    }
  }
  await checkAll(t, cases);
});

test('malformed bodies, whatever their content type, get the validation answer', async (t) => {
  const malformed: Array<[string, string | Buffer]> = [
    ['truncated JSON', '{"prompt": '],
    ['a bare string', '"a quiet harbour"'],
    ['a number', '12345'],
    ['null', 'null'],
    ['an array', '[{"prompt":"x"}]'],
    ['form fields', 'prompt=hello&model=veo3'],
    ['prototype poisoning', '{"prompt":"x","__proto__":{"admin":true}}'],
    ['constructor poisoning', '{"prompt":"x","constructor":{"prototype":{"admin":true}}}'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ['a NUL byte', '{"prompt":"x"}\u0000'],
    ['deep nesting', `${'['.repeat(5000)}${']'.repeat(5000)}`],
  ];
  const cases: Case[] = [];
  for (const [routeName, route] of onePerUrl()) {
    for (const [label, raw] of malformed) {
      for (const contentType of ['application/json', 'text/plain', null]) {
        // `null` is no body; invalid UTF-8 decodes to U+FFFD (an unknown field): both valid where `{}` is.
        const valid = route.emptyBodyValid && (label === 'null' || label === 'invalid UTF-8');
        cases.push({
          name: `${routeName}: ${label} as ${contentType ?? 'no content type'}`,
          method: route.method,
          url: route.url(),
          raw,
          contentType,
          expect: valid ? route.accepted : route.validation,
        });
      }
    }
  }
  await checkAll(t, cases);
});

test('JSON is read the same with any content type, or none', async (t) => {
  const cases: Case[] = [];
  for (const contentType of ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', null]) {
    cases.push(
      { name: `veo generate as ${contentType ?? 'no content type'}`, method: 'POST', url: '/api/v1/veo/generate', body: { prompt: 'a quiet harbour' }, contentType, expect: 200 },
      { name: `universal create as ${contentType ?? 'no content type'}`, method: 'POST', url: '/v2/video/generations', body: universalModelBodies.text, contentType, expect: 200 },
      { name: `admin credits as ${contentType ?? 'no content type'}`, method: 'POST', url: `/admin/keys/${otherKeyId}/credits`, body: { amount: 1 }, contentType, expect: 200 },
    );
  }
  await checkAll(t, cases);
});

test('oversized bodies are refused, before any is read when there is no key', async (t) => {
  const cases: Case[] = [];
  for (const [routeName, route] of onePerUrl()) {
    const url = route.url();
    const oversized = JSON.stringify({ ...route.valid(), padding: 'x'.repeat(route.bodyLimit) });
    cases.push(
      {
        name: `${routeName}: ${oversized.length} bytes`,
        method: route.method,
        url,
        raw: oversized,
        expect: tooLargeAnswer(url),
        message: /too large/,
      },
      { name: `${routeName}: ${oversized.length} bytes without a key`, method: route.method, url, raw: oversized, key: null, expect: 401 },
    );
  }
  await checkAll(t, cases);
});

test('an unauthenticated 100 MB upload is answered 401 at once and its connection closed', async () => {
  await harness.segue.http.listen({ host: '127.0.0.1', port: 0 });
  const { port } = harness.segue.http.server.address() as net.AddressInfo;
  const veo401 = /^HTTP\/1\.1 200 [^]*"code":401/;
  const veoTooLarge = /^HTTP\/1\.1 200 [^]*"code":422,"msg":"The request body is too large"/;
  const claims: Array<[url: string, key: string | null, answer: RegExp]> = [
    ['/v2/video/generations', null, /^HTTP\/1\.1 401 /],
    ['/api/v1/veo/generate', null, veo401],
    ['/api/v1/veo/extend', null, veo401],
    ['/api/v1/veo/get-4k-video', null, veo401],
    ['/api/v1/callbacks/redeliver', null, veo401],
    ['/admin/keys', null, /^HTTP\/1\.1 401 /],
    ['/admin/keys', harness.key, /^HTTP\/1\.1 401 /],
    // With a key, a body that cannot fit its route is refused from its Content-Length alone.
    ['/v2/video/generations', harness.key, /^HTTP\/1\.1 413 /],
    ['/api/v1/veo/generate', harness.key, veoTooLarge],
    ['/api/v1/veo/extend', harness.key, veoTooLarge],
    ['/admin/keys', ADMIN_KEY, /^HTTP\/1\.1 413 /],
  ];
  for (const [url, key, answer] of claims) {
    const started = Date.now();
    const { received, closedByServer } = await rawUpload(port, url, key, 104_857_600);
    const elapsed = Date.now() - started;
    const label = `${url} ${key ? 'with a key' : 'without a key'}`;
    assert.match(received, answer, `${label}: ${received.slice(0, 300)}`);
    assert.match(received, /\r\nconnection: close\r\n/i, label);
    assert.ok(closedByServer, `${label}: the server closes the connection instead of reading 100 MB`);
    assert.ok(elapsed < 5_000, `${label}: answered in ${elapsed} ms`);
  }
});

/** Sends the headers of an upload of `length` bytes and 64 KiB of it; resolves with what came back and whether the server closed. */
function rawUpload(port: number, url: string, key: string | null, length: number): Promise<{ received: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ received, closedByServer: false });
    }, 5_000);
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
    });
    socket.on('error', () => {
      /* a reset after the answer is a close too */
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received, closedByServer: true });
    });
    socket.on('connect', () => {
      socket.write(
        `POST ${url} HTTP/1.1\r\nHost: segue.test\r\nContent-Type: application/json\r\n` +
          `${key ? `Authorization: Bearer ${key}\r\n` : ''}Content-Length: ${length}\r\n\r\n{"prompt":"${'a'.repeat(64 * 1024)}`,
      );
    });
  });
}

test('wrong types in every field get the validation answer', async (t) => {
  const wrongTypes: Array<[string, unknown]> = [
    ['a number', 12345],
    ['a boolean', true],
    ['an array', ['x']],
    ['an object', { value: 'x' }],
    ['null', null],
  ];
  const cases: Case[] = [];
  for (const [routeName, route] of Object.entries(bodyRoutes)) {
    for (const field of route.strings) {
      for (const [label, value] of wrongTypes) {
        const nullAccepted = value === null && route.nullable.includes(field);
        cases.push({
          name: `${routeName}: ${field} as ${label}`,
          method: route.method,
          url: route.url(),
          body: withField(route.valid(), field, value),
          expect: nullAccepted ? route.accepted : route.validation,
        });
      }
    }
  }
  // Fields that are not text, given as text or as something stranger.
  const veo = (field: string, value: unknown) => ({ prompt: 'x', [field]: value });
  const strange: Array<[string, string, Record<string, unknown>, number]> = [
    ['veo generate: imageUrls as a string', '/api/v1/veo/generate', veo('imageUrls', 'https://example.com/a.png'), VEO_VALIDATION],
    ['veo generate: imageUrls as an object', '/api/v1/veo/generate', veo('imageUrls', { 0: 'https://example.com/a.png' }), VEO_VALIDATION],
    ['veo generate: four imageUrls', '/api/v1/veo/generate', veo('imageUrls', Array(4).fill('https://example.com/a.png')), VEO_VALIDATION],
    ['veo generate: seeds as an array', '/api/v1/veo/generate', veo('seeds', [12345]), VEO_VALIDATION],
    ['veo generate: seeds as a float', '/api/v1/veo/generate', veo('seeds', 12345.5), VEO_VALIDATION],
    ['veo generate: seeds as 1e308', '/api/v1/veo/generate', veo('seeds', 1e308), VEO_VALIDATION],
    ['veo generate: seed as text', '/api/v1/veo/generate', veo('seed', 'twelve'), VEO_VALIDATION],
    ['veo generate: enableTranslation as "true"', '/api/v1/veo/generate', veo('enableTranslation', 'true'), VEO_VALIDATION],
    ['veo generate: enableFallback as 1', '/api/v1/veo/generate', veo('enableFallback', 1), VEO_VALIDATION],
    ['veo get-4k-video: index as text', '/api/v1/veo/get-4k-video', { taskId: succeededTask, index: 'zero' }, VEO_VALIDATION],
    ['veo get-4k-video: index negative', '/api/v1/veo/get-4k-video', { taskId: succeededTask, index: -1 }, VEO_VALIDATION],
    ['veo get-4k-video: index as a float', '/api/v1/veo/get-4k-video', { taskId: succeededTask, index: 0.5 }, VEO_VALIDATION],
    ['veo redeliver: exhausted as "yes"', '/api/v1/callbacks/redeliver', { exhausted: 'yes' }, VEO_VALIDATION],
    ['veo redeliver: neither field', '/api/v1/callbacks/redeliver', {}, VEO_VALIDATION],
    ['universal: duration as text', '/v2/video/generations', { ...universalModelBodies.text, duration: '8' }, UNIVERSAL_VALIDATION],
    ['universal: duration as a float', '/v2/video/generations', { ...universalModelBodies.text, duration: 8.5 }, UNIVERSAL_VALIDATION],
    ['universal: seed negative', '/v2/video/generations', { ...universalModelBodies.text, seed: -1 }, UNIVERSAL_VALIDATION],
    ['universal: seed as 1e308', '/v2/video/generations', { ...universalModelBodies.text, seed: 1e308 }, UNIVERSAL_VALIDATION],
    ['universal: generate_audio as "false"', '/v2/video/generations', { ...universalModelBodies.text, generate_audio: 'false' }, UNIVERSAL_VALIDATION],
    ['universal: image_urls as a string', '/v2/video/generations', { ...universalModelBodies.reference, image_urls: 'https://example.com/a.png' }, UNIVERSAL_VALIDATION],
    ['universal: four image_urls', '/v2/video/generations', { ...universalModelBodies.reference, image_urls: Array(4).fill('https://example.com/a.png') }, UNIVERSAL_VALIDATION],
    ['universal: model as null', '/v2/video/generations', { ...universalModelBodies.text, model: null }, UNIVERSAL_VALIDATION],
    ['admin create key: credits as text', '/admin/keys', { name: 'x', credits: '100' }, ADMIN_VALIDATION],
    ['admin create key: credits negative', '/admin/keys', { name: 'x', credits: -5 }, ADMIN_VALIDATION],
    ['admin create key: credits as 1e308', '/admin/keys', { name: 'x', credits: 1e308 }, ADMIN_VALIDATION],
    ['admin create key: maxUnfinishedTasks as 0', '/admin/keys', { name: 'x', maxUnfinishedTasks: 0 }, ADMIN_VALIDATION],
    ['admin create key: rateLimit nonsense', '/admin/keys', { name: 'x', rateLimit: '∞/0s' }, ADMIN_VALIDATION],
    ['admin service: maintenance as "on"', '/admin/service', { maintenance: 'on' }, ADMIN_VALIDATION],
    ['admin service: disabledFeatures as a string', '/admin/service', { disabledFeatures: 'generate' }, ADMIN_VALIDATION],
  ];
  for (const [name, url, body, expect] of strange) {
    const method = url === '/admin/service' ? 'PUT' : 'POST';
    cases.push({ name, method, url, body, expect });
  }
  cases.push(
    { name: 'admin credits: amount as text', method: 'POST', url: `/admin/keys/${otherKeyId}/credits`, body: { amount: '5' }, expect: ADMIN_VALIDATION },
    { name: 'admin credits: amount as 1e308', method: 'POST', url: `/admin/keys/${otherKeyId}/credits`, body: { amount: 1e308 }, expect: ADMIN_VALIDATION },
    { name: 'admin credits: amount as 0', method: 'POST', url: `/admin/keys/${otherKeyId}/credits`, body: { amount: 0 }, expect: ADMIN_VALIDATION },
    { name: 'admin limits: maxUnfinishedTasks as a float', method: 'PUT', url: `/admin/keys/${otherKeyId}/limits`, body: { maxUnfinishedTasks: 1.5 }, expect: ADMIN_VALIDATION },
  );
  await checkAll(t, cases);
});

test('unicode, control characters and very long strings in every text field', async (t) => {
  const texts: Array<[string, string]> = [
    ['a NUL character', 'harbour\u0000at dawn'],
    ['terminal escapes', 'harbour \u001b[2J\u001b]0;owned\u0007 at dawn'],
    ['a lone surrogate', 'harbour \ud83c at dawn'],
    ['a right-to-left override', 'harbour \u202egnp.exe at dawn'],
    ['emoji and joiners', 'harbour 🎬👩‍👩‍👧 ﷺ at dawn'],
    ['line breaks', 'harbour\r\nX-Injected: yes\r\n\r\nat dawn'],
    ['10 000 characters', 'a'.repeat(10_000)],
    ['20 000 emoji', '🎬'.repeat(20_000)],
  ];
  const cases: Case[] = [];
  for (const [routeName, route] of Object.entries(bodyRoutes)) {
    for (const field of route.strings) {
      for (const [label, text] of texts) {
        const body = withField(route.valid(), field, text);
        const tooLarge = Buffer.byteLength(JSON.stringify(body)) > route.bodyLimit;
        cases.push({
          name: `${routeName}: ${field} with ${label}`,
          method: route.method,
          url: route.url(),
          body,
          expect: tooLarge ? tooLargeAnswer(route.url()) : [...route.accepted, route.validation, ...(route.unknownId ? [route.unknownId] : [])],
          readBack: true,
        });
      }
    }
  }
  await checkAll(t, cases);
});

test('repeated, empty, missing and strange query parameters', async (t) => {
  const taskIdRoutes = ['/api/v1/veo/record-info', '/api/v1/veo/get-1080p-video', '/api/v1/callbacks'];
  const cases: Case[] = [];
  for (const route of taskIdRoutes) {
    const query = (value: string) => `${route}?${value}`;
    cases.push(
      { name: `${route}: taskId twice, the same`, method: 'GET', url: query(`taskId=${queuedTask}&taskId=${queuedTask}`), expect: 422, message: /taskId must be given once/ },
      { name: `${route}: taskId twice, different`, method: 'GET', url: query(`taskId=${queuedTask}&taskId=${otherTask}`), expect: 422, message: /taskId must be given once/ },
      { name: `${route}: taskId three times`, method: 'GET', url: query('taskId=a&taskId=b&taskId=c'), expect: 422 },
      { name: `${route}: taskId missing`, method: 'GET', url: route, expect: 422, message: /taskId is required/ },
      { name: `${route}: taskId empty`, method: 'GET', url: query('taskId='), expect: 422, message: /taskId is required/ },
      { name: `${route}: taskId blank`, method: 'GET', url: query('taskId=%20%20'), expect: 422, message: /taskId is required/ },
      { name: `${route}: taskId without a value`, method: 'GET', url: query('taskId'), expect: 422 },
      { name: `${route}: taskId[] form`, method: 'GET', url: query(`taskId[]=${queuedTask}`), expect: 422 },
      { name: `${route}: taskId[0] form`, method: 'GET', url: query(`taskId[0]=${queuedTask}`), expect: 422 },
      { name: `${route}: taskId very long`, method: 'GET', url: query(`taskId=${'f'.repeat(5000)}`), expect: 422 },
      { name: `${route}: taskId with NUL`, method: 'GET', url: query('taskId=%00'), expect: 422 },
      { name: `${route}: taskId with unicode`, method: 'GET', url: query(`taskId=${encodeURIComponent('🎬\u202e')}`), expect: 422 },
      { name: `${route}: taskId with broken percent-encoding`, method: 'GET', url: query('taskId=%E0%A4%A'), expect: 422 },
      { name: `${route}: taskId as SQL`, method: 'GET', url: query(`taskId=${encodeURIComponent("' OR 1=1 --")}`), expect: 422 },
      { name: `${route}: another tenant's task`, method: 'GET', url: query(`taskId=${otherTask}`), expect: 422, message: /^record is null$/ },
    );
  }
  cases.push(
    { name: 'get-1080p-video: index twice', method: 'GET', url: `/api/v1/veo/get-1080p-video?taskId=${succeededTask}&index=0&index=0`, expect: 422, message: /index must be given once/ },
    { name: 'get-1080p-video: index as text', method: 'GET', url: `/api/v1/veo/get-1080p-video?taskId=${succeededTask}&index=abc`, expect: 422 },
    { name: 'get-1080p-video: index huge', method: 'GET', url: `/api/v1/veo/get-1080p-video?taskId=${succeededTask}&index=${'9'.repeat(400)}`, expect: 422 },
    { name: 'credit: repeated unknown parameters', method: 'GET', url: '/api/v1/chat/credit?x=1&x=2&x=3', expect: 200 },
    { name: 'universal: generation_id twice, the same', method: 'GET', url: `/v2/video/generations?generation_id=${queuedTask}&generation_id=${queuedTask}`, expect: 400, message: /^Query validation error! .*given once/ },
    { name: 'universal: generation_id twice, different', method: 'GET', url: `/v2/video/generations?generation_id=${queuedTask}&generation_id=x`, expect: 400 },
    { name: 'universal: generation_id missing', method: 'GET', url: '/v2/video/generations', expect: 400, message: /generation_id/ },
    { name: 'universal: generation_id empty', method: 'GET', url: '/v2/video/generations?generation_id=', expect: 400 },
    { name: 'universal: generation_id[] form', method: 'GET', url: `/v2/video/generations?generation_id[]=${queuedTask}`, expect: 400 },
    { name: 'universal: generation_id very long', method: 'GET', url: `/v2/video/generations?generation_id=${'f'.repeat(5000)}`, expect: 400 },
    { name: 'universal: generation_id with NUL', method: 'GET', url: '/v2/video/generations?generation_id=%00', expect: 404 },
    { name: 'universal: generation_id unknown', method: 'GET', url: '/v2/video/generations?generation_id=nope', expect: 404 },
    { name: "universal: another tenant's generation", method: 'GET', url: `/v2/video/generations?generation_id=${otherTask}`, expect: 404 },
    { name: 'admin ledger: limit twice', method: 'GET', url: `/admin/keys/${otherKeyId}/ledger?limit=5&limit=5`, expect: 400 },
    { name: 'admin ledger: limit as text', method: 'GET', url: `/admin/keys/${otherKeyId}/ledger?limit=abc`, expect: 400 },
    { name: 'admin ledger: limit huge (clamped)', method: 'GET', url: `/admin/keys/${otherKeyId}/ledger?limit=999999999`, expect: 200 },
    { name: 'admin ledger: limit very long', method: 'GET', url: `/admin/keys/${otherKeyId}/ledger?limit=${'9'.repeat(400)}`, expect: 400 },
    { name: 'admin ledger: unknown key', method: 'GET', url: `/admin/keys/${encodeURIComponent('🎬')}/ledger`, expect: 404 },
    { name: 'admin tasks: state twice', method: 'GET', url: '/admin/tasks?state=failed&state=failed', expect: 400 },
    { name: 'admin tasks: state unknown', method: 'GET', url: '/admin/tasks?state=exploded', expect: 400 },
    { name: 'admin key: very long id', method: 'GET', url: `/admin/keys/${'k'.repeat(5000)}`, expect: [404, 414] },
    { name: 'admin key: id with NUL', method: 'GET', url: '/admin/keys/%00', expect: 404 },
    { name: 'admin revoke: unknown key', method: 'POST', url: `/admin/keys/${encodeURIComponent("' OR 1=1 --")}/revoke`, expect: 404 },
    { name: 'admin settle: unknown task', method: 'POST', url: '/admin/tasks/nope/settle', body: { outcome: 'refund' }, expect: [404, 409] },
    { name: 'healthz: repeated parameters', method: 'GET', url: '/healthz?a=1&a=2', expect: 200 },
    { name: 'readyz: repeated parameters', method: 'GET', url: '/readyz?a=1&a=2', expect: 200 },
    { name: 'metrics: repeated parameters', method: 'GET', url: '/metrics?a=1&a=2', key: ADMIN_KEY, expect: 200 },
    { name: 'metrics: an API key instead of the admin key', method: 'GET', url: '/metrics', expect: 401 },
    { name: 'metrics: a malformed Authorization header', method: 'GET', url: '/metrics', authorization: 'Bearer', expect: 401 },
    { name: 'healthz: malformed JSON on POST', method: 'POST', url: '/healthz', raw: '{"x":', expect: [400, 404] },
    { name: 'an unknown Veo route', method: 'GET', url: '/api/v1/veo/nothing?taskId=a&taskId=b', expect: 404 },
    { name: 'an unknown route', method: 'GET', url: '/nothing/here', expect: 404 },
  );
  await checkAll(t, cases);
});

/** Every URL field, and where the refusal must name it. */
const urlFields: Array<{ name: string; url: () => string; body: (link: string) => Record<string, unknown>; field: RegExp }> = [
  { name: 'veo generate callBackUrl', url: () => '/api/v1/veo/generate', body: (link) => ({ prompt: 'x', callBackUrl: link }), field: /^callBackUrl / },
  { name: 'veo generate imageUrls', url: () => '/api/v1/veo/generate', body: (link) => ({ prompt: 'x', imageUrls: ['https://example.com/a.png', link] }), field: /^imageUrls/ },
  { name: 'veo extend callBackUrl', url: () => '/api/v1/veo/extend', body: (link) => ({ taskId: succeededTask, prompt: 'x', callBackUrl: link }), field: /^callBackUrl / },
  { name: 'veo get-4k-video callBackUrl', url: () => '/api/v1/veo/get-4k-video', body: (link) => ({ taskId: fourKSource, callBackUrl: link }), field: /^callBackUrl / },
  { name: 'universal image_url', url: () => '/v2/video/generations', body: (link) => ({ ...universalModelBodies.image, image_url: link }), field: /"?image_url"? / },
  { name: 'universal last_image_url', url: () => '/v2/video/generations', body: (link) => ({ ...universalModelBodies.firstLast, last_image_url: link }), field: /"?last_image_url"? / },
  { name: 'universal image_urls', url: () => '/v2/video/generations', body: (link) => ({ ...universalModelBodies.reference, image_urls: ['https://example.com/a.png', link] }), field: /"?image_urls(\[1\])?"? / },
  { name: 'universal video_url', url: () => '/v2/video/generations', body: (link) => ({ ...universalModelBodies.extend, video_url: link }), field: /"?video_url"? / },
];

test('private, loopback, link-local and metadata addresses are refused in every URL field at submit', async (t) => {
  const addresses = [
    'http://127.0.0.1/x.png',
    'http://127.1/x.png',
    'http://2130706433/x.png',
    'http://0x7f000001/x.png',
    'http://0.0.0.0/x.png',
    'http://10.0.0.1/x.png',
    'http://172.16.0.1/x.png',
    'http://192.168.1.1/x.png',
    'http://100.64.0.1/x.png',
    'http://169.254.169.254/latest/meta-data/',
    'https://127.0.0.1:6379/x.png',
    'http://[::1]/x.png',
    'http://[::]/x.png',
    'http://[fe80::1]/x.png',
    'http://[fc00::1]/x.png',
    'http://[::ffff:127.0.0.1]/x.png',
    'http://[::ffff:169.254.169.254]/x.png',
    'http://[64:ff9b::7f00:1]/x.png',
    // A DNS name that resolves to loopback.
    'http://localhost/x.png',
    'http://LOCALHOST:8080/x.png',
    // Not http(s), or with credentials.
    'ftp://example.com/x.png',
    'file:///etc/passwd',
    'gopher://127.0.0.1:6379/_INFO',
    'javascript:alert(1)',
    'http://user:secret@example.com/x.png',
    'not a url',
    // IPv6 forms that embed an IPv4 address: refused once the address guard in src/net/ knows
    // them (being added on another branch); until that is merged these rows fail. Last, so that
    // an upgrade started by one of them cannot change the answers of the rows above.
    'http://[::127.0.0.1]/x.png',
    'http://[2002:7f00:1::1]/x.png',
  ];
  const cases: Case[] = [];
  for (const field of urlFields) {
    for (const link of addresses) {
      const url = field.url();
      const veo = dialectOf(url) === 'veo';
      cases.push({ name: `${field.name}: ${link}`, method: 'POST', url, body: field.body(link), expect: veo ? VEO_VALIDATION : UNIVERSAL_VALIDATION, message: field.field });
    }
  }
  await checkAll(t, cases);
});

test('data: URIs that are not what the field takes are refused at submit', async (t) => {
  const notVideos = [
    'data:text/plain,hello',
    'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
    'data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==',
    `data:video/mp4;base64,${Buffer.from('<html>not a video</html>').toString('base64')}`,
    'data:video/mp4;base64,!!!not base64!!!',
    'data:video/mp4,',
    'data:,',
    `data:video/mp4;base64,${Buffer.alloc(MEDIA_MAX_BYTES + 1024).toString('base64')}`.slice(0, MEDIA_BODY_LIMIT - 4096),
  ];
  const cases: Case[] = notVideos.map((video_url) => ({
    name: `universal video_url ${video_url.slice(0, 60)}`,
    method: 'POST',
    url: '/v2/video/generations',
    body: { ...universalModelBodies.extend, video_url },
    expect: UNIVERSAL_VALIDATION,
    message: /video_url/,
  }));
  for (const image of ['data:text/html,<script>alert(1)</script>', 'data:video/mp4;base64,AAAA', 'data:,']) {
    cases.push({ name: `veo imageUrls ${image}`, method: 'POST', url: '/api/v1/veo/generate', body: { prompt: 'x', imageUrls: [image] }, expect: VEO_VALIDATION, message: /imageUrls/ });
  }
  await checkAll(t, cases);
});

test('tampered, expired and malformed signed file links are refused', async (t) => {
  const file = fileLink.pathname;
  const expires = fileLink.searchParams.get('expires')!;
  const signature = fileLink.searchParams.get('signature')!;
  const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
  const config = harness.segue.config;
  const past = new UrlSigner(urlSigningSecret(config.urlSigningSecret, config.dataDir), config.publicUrl, 60, () => Date.now() - 7 * 24 * 3600_000);
  const expired = new URL(past.urlFor(`tasks/${succeededTask}/video.mp4`));
  const otherFile = new URL(otherLink);
  const cases: Case[] = [
    { name: 'the genuine link', method: 'GET', url: `${file}?expires=${expires}&signature=${signature}`, expect: 200 },
    { name: 'HEAD of the genuine link', method: 'HEAD', url: `${file}?expires=${expires}&signature=${signature}`, expect: 200 },
    { name: 'a flipped signature', method: 'GET', url: `${file}?expires=${expires}&signature=${flipped}`, expect: 403 },
    { name: 'a later expiry', method: 'GET', url: `${file}?expires=${Number(expires) + 3600}&signature=${signature}`, expect: 403 },
    { name: 'expired, genuinely signed', method: 'GET', url: `${expired.pathname}${expired.search}`, expect: 403 },
    { name: 'no signature', method: 'GET', url: `${file}?expires=${expires}`, expect: 403 },
    { name: 'no query', method: 'GET', url: file, expect: 403 },
    { name: 'signature twice', method: 'GET', url: `${file}?expires=${expires}&signature=${signature}&signature=${signature}`, expect: 403 },
    { name: 'expires twice', method: 'GET', url: `${file}?expires=${expires}&expires=${expires}&signature=${signature}`, expect: 403 },
    { name: 'expires not a number', method: 'GET', url: `${file}?expires=soon&signature=${signature}`, expect: 403 },
    { name: 'expires huge', method: 'GET', url: `${file}?expires=${'9'.repeat(400)}&signature=${signature}`, expect: 403 },
    { name: 'signature very long', method: 'GET', url: `${file}?expires=${expires}&signature=${'A'.repeat(5000)}`, expect: 403 },
    { name: "another tenant's signature on this file", method: 'GET', url: `${file}${otherFile.search}`, expect: 403 },
    { name: 'this signature on another file', method: 'GET', url: `${otherFile.pathname}?expires=${expires}&signature=${signature}`, expect: 403 },
    { name: 'path traversal', method: 'GET', url: `/files/tasks/${succeededTask}/..%2F..%2F..%2Furl-signing.key?expires=${expires}&signature=${signature}`, expect: [403, 404] },
    { name: 'dot segments', method: 'GET', url: `/files/tasks/${succeededTask}/%2E%2E/%2E%2E/url-signing.key?expires=${expires}&signature=${signature}`, expect: [403, 404] },
    { name: 'a NUL in the key', method: 'GET', url: `/files/tasks/${succeededTask}/video.mp4%00.txt?expires=${expires}&signature=${signature}`, expect: 403 },
    { name: 'an empty key', method: 'GET', url: `/files/?expires=${expires}&signature=${signature}`, expect: [403, 404] },
    { name: 'a very long key', method: 'GET', url: `/files/${'a/'.repeat(2000)}x.mp4?expires=${expires}&signature=${signature}`, expect: [403, 404] },
  ];
  await checkAll(t, cases);
  const ranged = await harness.segue.http.inject({ url: `${file}?expires=${expires}&signature=${signature}`, headers: { range: 'bytes=999999-9999999' } });
  assert.equal(ranged.statusCode, 416, 'an unsatisfiable range is a 416');
});

test("another tenant's tasks, deliveries and links are unknown", async (t) => {
  await checkAll(t, [
    { name: 'record-info', method: 'GET', url: `/api/v1/veo/record-info?taskId=${otherTask}`, expect: 422, message: /^record is null$/ },
    { name: 'get-1080p-video', method: 'GET', url: `/api/v1/veo/get-1080p-video?taskId=${otherTask}`, expect: 422, message: /^record is null$/ },
    { name: 'get-4k-video', method: 'POST', url: '/api/v1/veo/get-4k-video', body: { taskId: otherTask }, expect: 422, message: /^record is null$/ },
    { name: 'extend', method: 'POST', url: '/api/v1/veo/extend', body: { taskId: otherTask, prompt: 'mine now' }, expect: 404 },
    { name: 'callbacks', method: 'GET', url: `/api/v1/callbacks?taskId=${otherTask}`, expect: 422, message: /^record is null$/ },
    { name: 'redeliver', method: 'POST', url: '/api/v1/callbacks/redeliver', body: { deliveryId: otherDelivery }, expect: 404 },
    { name: 'universal fetch', method: 'GET', url: `/v2/video/generations?generation_id=${otherTask}`, expect: 404 },
    // Not this caller's result, so it is a link like any other: Segue's own address is private here.
    { name: 'universal extend of their signed link', method: 'POST', url: '/v2/video/generations', body: { ...universalModelBodies.extend, video_url: otherLink }, expect: 400, message: /video_url/ },
  ]);
  const theirs = await harness.segue.storage.tasks.findById(otherTask);
  assert.equal(theirs?.apiKeyId, otherKeyId);
  assert.equal(await harness.segue.storage.tasks.findChild(otherTask, 'upgrade_1080p'), undefined, 'nothing was started on their task');
  assert.equal(await harness.segue.storage.tasks.findChild(otherTask, 'upgrade_4k'), undefined);
});

test('after all of it the process still serves, and logged no unexpected error', async () => {
  assert.deepEqual((await send({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
  assert.equal((await send({ method: 'GET', url: `/api/v1/veo/record-info?taskId=${succeededTask}` })).json().code, 200);
  assert.equal((await send({ method: 'GET', url: `/v2/video/generations?generation_id=${succeededTask}` })).statusCode, 200);
  assert.equal((await send({ method: 'POST', url: '/api/v1/veo/generate', body: { prompt: 'still here' } })).json().code, 200);
  assert.deepEqual(errorLogs, [], 'no request ended in an unexpected error');
});
