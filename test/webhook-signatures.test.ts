import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideAfterAttempt } from '../src/callbacks/delivery-policy.js';
import { parseRetryAfter } from '../src/net/retry-after.js';
import { standardWebhookSignature, veoWebhookSignature, verifySegueCallback } from '../src/callbacks/webhook-signatures.js';

const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const body = JSON.stringify({ code: 200, msg: 'ok', data: { taskId: 'task-1' } });
const now = 1_800_000_000;

test('Standard Webhooks signatures verify, and a stale timestamp or a changed body does not', () => {
  const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now), 'webhook-signature': standardWebhookSignature(secret, 'msg_1', now, body) };
  assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
  assert.equal(verifySegueCallback({ headers, rawBody: body, webhookSecret: secret, nowSeconds: now + 299 }), true);
  assert.equal(verifySegueCallback({ headers, rawBody: body, webhookSecret: secret, nowSeconds: now + 301 }), false, 'older than 5 minutes');
  assert.equal(verifySegueCallback({ headers, rawBody: body, webhookSecret: secret, nowSeconds: now - 301 }), false, 'from the future');
  assert.equal(verifySegueCallback({ headers, rawBody: `${body} `, webhookSecret: secret, nowSeconds: now }), false);
  assert.equal(verifySegueCallback({ headers: { ...headers, 'webhook-id': 'msg_2' }, rawBody: body, webhookSecret: secret, nowSeconds: now }), false);
  assert.equal(verifySegueCallback({ headers, rawBody: body, nowSeconds: now }), false, 'nothing to verify with');
});

test('the Veo scheme signs taskId.timestamp with the HMAC key', () => {
  const headers = new Headers({ 'X-Webhook-Timestamp': String(now), 'X-Webhook-Signature': veoWebhookSignature('key', 'task-1', now) });
  assert.equal(verifySegueCallback({ headers, rawBody: body, veoHmacKey: 'key', nowSeconds: now }), true);
  assert.equal(verifySegueCallback({ headers, rawBody: body.replace('task-1', 'task-2'), veoHmacKey: 'key', nowSeconds: now }), false);
  assert.equal(verifySegueCallback({ headers, rawBody: body, veoHmacKey: 'key', nowSeconds: now + 400 }), false);
});

test('delivery policy: 2xx delivers, 410 stops, the schedule runs out, Retry-After is a floor', () => {
  const attempt = (number: number) => ({ round: 1, number, attemptedAt: 1000, statusCode: null, latencyMs: 0, error: null, responsePreview: null });
  const schedule = [0, 5000, 60000];
  const sent = (statusCode: number | null, retryAfterMs: number | null = null) => ({ statusCode, refused: false, retryAfterMs });
  const middle = () => 0.5;
  assert.equal(decideAfterAttempt(attempt(1), sent(204), schedule).state, 'delivered');
  assert.equal(decideAfterAttempt(attempt(1), sent(410), schedule).state, 'stopped');
  assert.equal(decideAfterAttempt(attempt(1), { statusCode: null, refused: true, retryAfterMs: null }, schedule).state, 'refused');
  assert.deepEqual(decideAfterAttempt(attempt(1), sent(500), schedule, middle).nextAttemptAt, 6000);
  assert.deepEqual(decideAfterAttempt(attempt(2), sent(null), schedule, middle).nextAttemptAt, 61000);
  assert.equal(decideAfterAttempt(attempt(3), sent(500), schedule).state, 'exhausted');
  assert.equal(decideAfterAttempt(attempt(1), sent(429, 30000), schedule, middle).nextAttemptAt, 31000);
  assert.equal(decideAfterAttempt(attempt(1), sent(500, 30000), schedule, middle).nextAttemptAt, 6000, 'Retry-After counts on 429/503 only');
  const low = decideAfterAttempt(attempt(1), sent(500), schedule, () => 0).nextAttemptAt!;
  const high = decideAfterAttempt(attempt(1), sent(500), schedule, () => 0.999).nextAttemptAt!;
  assert.ok(low >= 1000 + 4500 && high <= 1000 + 5500 && low < high, 'jitter stays within ±10 %');
  assert.equal(parseRetryAfter('7', 0), 7000);
  assert.equal(parseRetryAfter(new Date(60_000).toUTCString(), 0), 60_000);
  assert.equal(parseRetryAfter('soon', 0), null);
});

test('SEGUE_CALLBACK_URLS_AS_STRING sends info.resultUrls as a JSON-array string', async () => {
  const { VeoPresenter } = await import('../src/http/veo/veo-presenter.js');
  const { UrlSigner } = await import('../src/blobs/signed-urls.js');
  const { SignedLinks } = await import('../src/blobs/result-links.js');
  const { storedResult } = await import('./helpers/terminal-tasks.js');
  const links = new SignedLinks(new UrlSigner('s'.repeat(32), 'http://segue.test', 3600));
  const task = {
    id: 't', operation: 'generate', state: 'succeeded', failure: null, requestEcho: {}, parameters: { imageUrls: [] }, provider: 'local', providerRoute: ['local'],
    result: storedResult('t'),
  } as any;
  const asString = (await new VeoPresenter(links, { timeFormat: 'datetime', extendResultUrls: 'segment', callbackUrlsAsString: true, fourKCallbackShape: 'page' }).callbackBody(task)) as any;
  const asArray = (await new VeoPresenter(links, { timeFormat: 'datetime', extendResultUrls: 'segment', callbackUrlsAsString: false, fourKCallbackShape: 'page' }).callbackBody(task)) as any;
  assert.equal(typeof asString.data.info.resultUrls, 'string');
  assert.deepEqual(JSON.parse(asString.data.info.resultUrls), asArray.data.info.resultUrls);
  assert.ok(Array.isArray(asArray.data.info.resultUrls));
});
