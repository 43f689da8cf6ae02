import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FakeFalServer } from '../src/fake-upstream/fake-fal-server.js';
import { FalWebhookVerifier } from '../src/providers/fal/fal-webhook.js';
import { FAKE_FAL_USER, startFakeFal } from './helpers/fake-fal.js';

let fake: FakeFalServer;
let other: FakeFalServer;
before(async () => {
  fake = await startFakeFal();
  other = await startFakeFal();
});
after(async () => {
  await fake.close();
  await other.close();
});

const body = JSON.stringify({ request_id: 'req-1', gateway_request_id: 'req-1', status: 'OK', payload: { video: { url: 'https://v3b.fal.media/files/x.mp4' } } });

function headersFor(signer: FakeFalServer, options: { requestId?: string; userId?: string; timestamp: number; text?: string }) {
  const requestId = options.requestId ?? 'req-1';
  const userId = options.userId ?? FAKE_FAL_USER;
  return {
    'x-fal-webhook-request-id': requestId,
    'x-fal-webhook-user-id': userId,
    'x-fal-webhook-timestamp': String(options.timestamp),
    'x-fal-webhook-signature': signer.signWebhook(requestId, userId, options.timestamp, options.text ?? body),
  };
}

const jwksReads = (server: FakeFalServer) => server.requests.filter((request) => request.path === '/.well-known/jwks.json').length;

test('a delivery signed with fal\'s key (ED25519 over request_id, user_id, timestamp, sha256 of the body) names its task; the keys are fetched once', async () => {
  let now = 1_800_000_000_000;
  const verifier = new FalWebhookVerifier({ jwksUrl: fake.jwksUrl, jwksCacheMs: 3600_000, userId: FAKE_FAL_USER, now: () => now });
  const at = Math.floor(now / 1000);
  const delivery = await verifier.verify(headersFor(fake, { timestamp: at }), body, { segueTaskId: 'task_abc' });
  assert.deepEqual(delivery, { deliveryId: 'req-1', taskId: 'task_abc' });
  assert.deepEqual(await verifier.verify(headersFor(fake, { timestamp: at }), body, { segueTaskId: '../etc' }), { deliveryId: 'req-1', taskId: undefined }, 'only a task id is taken from the URL');
  now += 299_000;
  assert.ok(await verifier.verify(headersFor(fake, { timestamp: at }), body, {}), '299 s later still inside the window');
  assert.equal(jwksReads(fake), 1, 'the JWKS is cached');
  now += 2 * 3600_000;
  assert.ok(await verifier.verify(headersFor(fake, { timestamp: Math.floor(now / 1000) }), body, {}));
  assert.equal(jwksReads(fake), 2, 'fetched again once the cache expired');
  await verifier.close();
});

test('forged, tampered, stale, foreign-account or malformed deliveries are refused; forgeries cannot make Segue flood fal\'s JWKS', async () => {
  const now = 1_800_000_000_000;
  const before = jwksReads(fake);
  const verifier = new FalWebhookVerifier({ jwksUrl: fake.jwksUrl, jwksCacheMs: 3600_000, userId: FAKE_FAL_USER, now: () => now });
  const at = Math.floor(now / 1000);
  assert.equal(await verifier.verify(headersFor(other, { timestamp: at }), body, {}), undefined, 'signed by a key fal does not publish');
  assert.equal(await verifier.verify(headersFor(fake, { timestamp: at }), body.replace('x.mp4', 'y.mp4'), {}), undefined, 'the body was changed');
  assert.equal(await verifier.verify(headersFor(fake, { timestamp: at - 301 }), body, {}), undefined, 'older than 300 s');
  assert.equal(await verifier.verify(headersFor(fake, { timestamp: at + 301 }), body, {}), undefined, 'from the future');
  assert.equal(await verifier.verify(headersFor(fake, { timestamp: at, userId: 'someone-else' }), body, {}), undefined, 'another fal account');
  assert.equal(await verifier.verify(headersFor(fake, { timestamp: at, requestId: 'req-2' }), body, {}), undefined, 'the body names another request');
  assert.equal(await verifier.verify({ ...headersFor(fake, { timestamp: at }), 'x-fal-webhook-signature': 'zz' }, body, {}), undefined);
  assert.equal(await verifier.verify({}, body, {}), undefined);
  for (let index = 0; index < 20; index++) await verifier.verify(headersFor(other, { timestamp: at }), body, {});
  assert.equal(jwksReads(fake) - before, 1, 'one fetch, however many forgeries');
  await verifier.close();
});

test('an unreachable JWKS refuses deliveries (fal redelivers later) instead of accepting them', async () => {
  const verifier = new FalWebhookVerifier({ jwksUrl: 'http://127.0.0.1:9/.well-known/jwks.json', jwksCacheMs: 3600_000, now: Date.now, timeoutMs: 2000 });
  assert.equal(await verifier.verify(headersFor(fake, { timestamp: Math.floor(Date.now() / 1000) }), body, {}), undefined);
  await verifier.close();
});
