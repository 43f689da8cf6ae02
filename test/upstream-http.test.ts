import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ProviderError } from '../src/ports/video-provider.js';
import { keyInHeader, type UpstreamCredential } from '../src/providers/upstream-credential.js';
import { onlyToOrigins, UpstreamHttp } from '../src/providers/upstream-http.js';
import { temporaryDirectory } from './helpers/test-segue.js';

// The piece every upstream kind's client is built on, against two real servers on two origins:
// the key reaches only the origin allowed, refusals never quote it, a 401 renews it once.

const key = 'sk-upstream-test-0123456789abcdef';
const directory = temporaryDirectory('segue-upstream-http-');
/** Each request's path and authorization header, per server. */
const seen: Record<'api' | 'cdn', { path: string; authorization: string | undefined }[]> = { api: [], cdn: [] };
let api: http.Server;
let cdn: http.Server;
let apiUrl: string;
let cdnUrl: string;

function listen(name: 'api' | 'cdn', handle: (request: http.IncomingMessage, response: http.ServerResponse) => void): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    seen[name].push({ path: request.url ?? '', authorization: request.headers.authorization });
    handle(request, response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(async () => {
  cdn = await listen('cdn', (_request, response) => void response.end('video bytes'));
  cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;
  api = await listen('api', (request, response) => {
    if (request.url === '/to-cdn') return void response.writeHead(302, { location: `${cdnUrl}/file.mp4` }).end();
    if (request.url === '/echo-key') return void response.writeHead(400, { 'content-type': 'text/plain' }).end(`${'x'.repeat(470)} ${request.headers.authorization}`);
    if (request.url === '/busy') return void response.writeHead(503, { 'retry-after': '7' }).end();
    if (request.url === '/renew') return void response.writeHead(request.headers.authorization === 'Bearer second' ? 200 : 401).end('{}');
    response.writeHead(404).end();
  });
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});

after(async () => {
  for (const server of [api, cdn]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  fs.rmSync(directory, { recursive: true, force: true });
});

function upstream(credential: UpstreamCredential = keyInHeader('authorization', key, 'Bearer')): UpstreamHttp {
  return new UpstreamHttp({ label: 'Test', credential, mayReceiveKey: onlyToOrigins(apiUrl), timeoutMs: 5_000, maxAnswerBytes: 1024 });
}

test('a download redirected off the allowed origin carries the key on its first hop only', async () => {
  const client = upstream();
  seen.api.length = 0;
  seen.cdn.length = 0;
  const destination = path.join(directory, 'redirected.mp4');
  await client.download(new URL(`${apiUrl}/to-cdn`), destination, AbortSignal.timeout(10_000), {
    timeoutMs: 5_000,
    maxBytes: 1024,
    withKey: true,
    refused: () => new Error('refused'),
  });
  client.close();
  assert.equal(fs.readFileSync(destination, 'utf8'), 'video bytes');
  assert.deepEqual(seen.api, [{ path: '/to-cdn', authorization: `Bearer ${key}` }]);
  assert.deepEqual(seen.cdn, [{ path: '/file.mp4', authorization: undefined }]);
});

test('a call to an origin that may not receive the key is refused before any request', async () => {
  const client = upstream();
  seen.cdn.length = 0;
  await assert.rejects(client.call({ url: new URL(`${cdnUrl}/steal`), method: 'GET', signal: AbortSignal.timeout(10_000) }), (error: unknown) => {
    assert.ok(error instanceof ProviderError);
    assert.equal(error.isRetryable, false);
    return true;
  });
  client.close();
  assert.equal(seen.cdn.length, 0);
});

test('a refusal quoting the key at the edge of its 500 characters keeps none of it', async () => {
  const client = upstream();
  const response = await client.call({ url: new URL(`${apiUrl}/echo-key`), method: 'GET', signal: AbortSignal.timeout(10_000) });
  const refusal = client.refusal(response, `Test ${response.statusCode} ${await response.head(4096)}`, 'input_unusable');
  client.close();
  assert.ok(refusal.message.length <= 500);
  assert.match(refusal.message, /\[redacted\]/);
  // Cut first and cleaned after, the message kept the key's first dozen characters.
  assert.ok(!refusal.message.includes(key.slice(0, 6)), refusal.message);
  assert.equal(refusal.reason, 'input_unusable');
  assert.equal(refusal.isRetryable, false);
});

test('a busy answer is retryable with the Retry-After it asked for', async () => {
  const client = upstream();
  const response = await client.call({ url: new URL(`${apiUrl}/busy`), method: 'GET', signal: AbortSignal.timeout(10_000) });
  const refusal = client.refusal(response, 'Test 503');
  response.discard();
  client.close();
  assert.equal(refusal.isRetryable, true);
  assert.equal(refusal.retryAfterMs, 7_000);
});

test('a 401 renews a renewable credential once; a fixed key is not sent twice', async () => {
  let token = 'first';
  const renewable = upstream({ headers: () => ({ authorization: `Bearer ${token}` }), secrets: () => [token], renew: () => void (token = 'second') });
  const renewed = await renewable.call({ url: new URL(`${apiUrl}/renew`), method: 'GET', signal: AbortSignal.timeout(10_000) });
  renewed.discard();
  renewable.close();
  assert.equal(renewed.statusCode, 200);

  const fixed = upstream();
  seen.api.length = 0;
  const refused = await fixed.call({ url: new URL(`${apiUrl}/renew`), method: 'GET', signal: AbortSignal.timeout(10_000) });
  refused.discard();
  fixed.close();
  assert.equal(refused.statusCode, 401);
  assert.equal(seen.api.length, 1);
});
