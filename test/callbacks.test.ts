import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { verifySegueCallback } from '../src/callbacks/webhook-signatures.js';
import type { DeliveryState } from '../src/ports/callback-outbox.js';
import type { ApiKeyRecord } from '../src/ports/key-store.js';
import { startCallbackReceiver, type ReceiverAnswer } from './helpers/callback-receiver.js';
import { endTask } from './helpers/terminal-tasks.js';
import { ManualClock } from './helpers/manual-clock.js';
import { startTestSegue, type TestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

let harness: TestSegue;
let key: ApiKeyRecord;
const receivers: Array<{ close(): Promise<void> }> = [];
/** The schedule runs on Segue's clock: the tests move it forward instead of waiting minutes. */
const clock = new ManualClock();
const MINUTE = 60_000;

before(async () => {
  harness = await startTestSegue({
    environment: {
      SEGUE_ALLOW_PRIVATE_NETWORKS: 'true',
      SEGUE_CALLBACK_RETRY_SCHEDULE: '0,5m,30m',
      SEGUE_CALLBACK_TIMEOUT_SECONDS: '1',
      // Leases run on the same clock: long enough that moving it on never looks like a dead worker.
      SEGUE_JOB_LEASE_SECONDS: String(7 * 24 * 3600),
    },
    clock,
  });
  key = (await harness.segue.keys.authenticate(harness.key))!;
});

after(async () => {
  for (const receiver of receivers) await receiver.close();
  await harness.close();
});

async function receiver(answer: (attempt: number) => ReceiverAnswer) {
  const started = await startCallbackReceiver(answer);
  receivers.push(started);
  return started;
}

async function deliveriesOf(taskId: string) {
  const response = await harness.segue.http.inject({ url: `/api/v1/callbacks?taskId=${taskId}`, headers: harness.headers });
  return response.json().data.deliveries as Array<{
    id: string;
    state: DeliveryState;
    round: number;
    attempts: Array<{ round: number; number: number; statusCode: number | null; error: string | null; attemptedAt: number; latencyMs: number }>;
  }>;
}

/** Waits for a delivery's state while moving Segue's clock a minute forward at every look. */
async function settled(taskId: string, state: DeliveryState) {
  return waitFor(`delivery of ${taskId} to be ${state}`, async () => {
    const [delivery] = await deliveriesOf(taskId);
    if (delivery?.state === state) return delivery;
    clock.advance(MINUTE);
    return undefined;
  });
}

test('a receiver that fails twice then accepts: three signed attempts with one webhook-id', async () => {
  const flaky = await receiver((attempt) => (attempt <= 2 ? 500 : 200));
  const task = await endTask(harness.segue.storage, key.id, flaky.url);
  const delivery = await settled(task.id, 'delivered');
  assert.deepEqual(delivery.attempts.map((attempt) => attempt.statusCode), [500, 500, 200]);
  assert.equal(flaky.received.length, 3);
  assert.equal(new Set(flaky.received.map((callback) => callback.headers['webhook-id'])).size, 1);
  assert.equal(flaky.received[0]!.headers['webhook-id'], delivery.id);
  for (const callback of flaky.received) {
    assert.ok(verifySegueCallback({ headers: callback.headers, rawBody: callback.rawBody, webhookSecret: key.webhookSecret, nowSeconds: Number(callback.headers['webhook-timestamp']) }));
    assert.equal(callback.headers['x-webhook-signature'], undefined, 'no Veo signature without an HMAC key');
  }
  assert.equal(flaky.received[2]!.body.msg, 'Veo3.1 video generated successfully.');
});

test('a receiver that always fails: exhausted after the schedule, every attempt in the log', async () => {
  const broken = await receiver(() => 503);
  const task = await endTask(harness.segue.storage, key.id, broken.url, 'fail');
  const delivery = await settled(task.id, 'exhausted');
  assert.deepEqual(delivery.attempts.map((attempt) => [attempt.number, attempt.statusCode]), [[1, 503], [2, 503], [3, 503]]);
  assert.equal(broken.received[0]!.body.code, 501);
  assert.deepEqual(broken.received[0]!.body.data, { taskId: task.id, fallbackFlag: false });
});

test('410 Gone stops the delivery at once', async () => {
  const gone = await receiver(() => 410);
  const task = await endTask(harness.segue.storage, key.id, gone.url);
  const delivery = await settled(task.id, 'stopped');
  assert.equal(delivery.attempts.length, 1);
  assert.equal(gone.received.length, 1);
});

test('a receiver slower than the timeout is retried; Retry-After on 429 is honoured', async () => {
  const slowThenFine = await receiver((attempt) => (attempt === 1 ? { status: 200, delayMs: 1500 } : 200));
  const slowTask = await endTask(harness.segue.storage, key.id, slowThenFine.url);
  const slow = await settled(slowTask.id, 'delivered');
  assert.equal(slow.attempts[0]!.statusCode, null);
  assert.match(slow.attempts[0]!.error ?? '', /timed out/);
  assert.equal(slow.attempts[1]!.statusCode, 200);

  const throttled = await receiver((attempt) => (attempt === 1 ? { status: 429, headers: { 'retry-after': '3600' } } : 200));
  const throttledTask = await endTask(harness.segue.storage, key.id, throttled.url);
  const delivered = await settled(throttledTask.id, 'delivered');
  const gap = delivered.attempts[1]!.attemptedAt - delivered.attempts[0]!.attemptedAt;
  assert.ok(gap >= 3600_000, `second attempt came ${gap / MINUTE} min after the 429 (schedule says 5 min, Retry-After 1 h)`);
});

test('redelivery sends a finished delivery again with the same webhook-id, one or all exhausted', async () => {
  let accept = false;
  const moody = await receiver(() => (accept ? 200 : 500));
  const first = await endTask(harness.segue.storage, key.id, moody.url);
  const second = await endTask(harness.segue.storage, key.id, moody.url);
  const [exhaustedOne] = [await settled(first.id, 'exhausted'), await settled(second.id, 'exhausted')];
  accept = true;

  const one = await harness.segue.http.inject({
    method: 'POST',
    url: '/api/v1/callbacks/redeliver',
    headers: harness.headers,
    payload: JSON.stringify({ deliveryId: exhaustedOne!.id }),
  });
  assert.equal(one.json().code, 200);
  const redelivered = await settled(first.id, 'delivered');
  assert.equal(redelivered.round, 2);
  assert.deepEqual(redelivered.attempts.map((attempt) => [attempt.round, attempt.statusCode]), [[1, 500], [1, 500], [1, 500], [2, 200]]);
  assert.equal(moody.received.at(-1)!.headers['webhook-id'], exhaustedOne!.id);

  const all = await harness.segue.http.inject({
    method: 'POST',
    url: '/api/v1/callbacks/redeliver',
    headers: harness.headers,
    payload: JSON.stringify({ exhausted: true }),
  });
  assert.ok(all.json().data.redelivered >= 1);
  await settled(second.id, 'delivered');

  const foreign = await harness.segue.http.inject({
    method: 'POST',
    url: '/api/v1/callbacks/redeliver',
    headers: { ...harness.headers, authorization: `Bearer ${(await harness.segue.keys.create('other', 0)).key}` },
    payload: JSON.stringify({ deliveryId: exhaustedOne!.id }),
  });
  assert.equal(foreign.json().code, 404, "another key cannot touch this key's deliveries");
});

test('secret rotation signs with both secrets during the overlap; the Veo HMAC scheme when enabled', async () => {
  const accepting = await receiver(() => 200);
  const oldSecret = key.webhookSecret;
  const newSecret = await harness.segue.keys.rotateWebhookSecret(key.id, 3600_000);
  const hmacKey = (await harness.segue.keys.setVeoHmacKey(key.id, true))!;
  try {
    const task = await endTask(harness.segue.storage, key.id, accepting.url);
    await settled(task.id, 'delivered');
    const [callback] = accepting.received;
    assert.equal(String(callback!.headers['webhook-signature']).split(' ').length, 2);
    for (const webhookSecret of [oldSecret, newSecret]) {
      assert.ok(verifySegueCallback({ headers: callback!.headers, rawBody: callback!.rawBody, nowSeconds: Number(callback!.headers['webhook-timestamp']), webhookSecret }), 'both secrets verify');
    }
    assert.ok(verifySegueCallback({ headers: callback!.headers, rawBody: callback!.rawBody, nowSeconds: Number(callback!.headers['webhook-timestamp']), veoHmacKey: hmacKey }));
    assert.ok(verifySegueCallback({ headers: callback!.headers, rawBody: callback!.rawBody, nowSeconds: Number(callback!.headers['webhook-timestamp']), webhookSecret: newSecret, veoHmacKey: hmacKey }));
    assert.equal(verifySegueCallback({ headers: callback!.headers, rawBody: callback!.rawBody, nowSeconds: Number(callback!.headers['webhook-timestamp']), veoHmacKey: 'wrong' }), false);
  } finally {
    await harness.segue.keys.setVeoHmacKey(key.id, false);
    key = (await harness.segue.keys.authenticate(harness.key))!;
  }
});

test('a callback owed when the process stopped before sending is sent by the next start, once', async () => {
  const accepting = await receiver(() => 200);
  const first = await startTestSegue({ runWorker: false, environment: { SEGUE_ALLOW_PRIVATE_NETWORKS: 'true' } });
  const firstKey = (await first.segue.keys.authenticate(first.key))!;
  const task = await endTask(first.segue.storage, firstKey.id, accepting.url);
  await first.close({ keepData: true });
  assert.equal(accepting.received.length, 0);

  const second = await startTestSegue({ dataDir: first.dataDir, environment: { SEGUE_ALLOW_PRIVATE_NETWORKS: 'true' } });
  try {
    await waitFor('the owed callback', () => accepting.received.length === 1);
    const [delivery] = await second.segue.storage.callbacks.listForTask(task.id);
    await waitFor('the delivery to be recorded', async () => (await second.segue.storage.callbacks.find(delivery!.id))?.state === 'delivered');
    assert.equal(accepting.received.length, 1);
  } finally {
    await second.close();
  }
});

test('callbacks to non-public addresses are refused at delivery time too (after DNS resolution)', async () => {
  const listening = await receiver(() => 200);
  const guarded = await startTestSegue();
  try {
    const guardedKey = (await guarded.segue.keys.authenticate(guarded.key))!;
    const targets = [
      `http://127.0.0.1:${listening.port}/cb`,
      `http://localhost:${listening.port}/cb`,
      `http://[::1]:${listening.port}/cb`,
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.1/cb',
      'http://192.168.1.1/cb',
      'http://224.0.0.1/cb',
    ];
    const tasks = [];
    for (const url of targets) tasks.push(await endTask(guarded.segue.storage, guardedKey.id, url));
    for (const task of tasks) {
      const delivery = await waitFor(`refusal for ${task.callbackUrl}`, async () => {
        const [found] = await guarded.segue.storage.callbacks.listForTask(task.id);
        return found?.state === 'refused' ? found : undefined;
      });
      assert.equal(delivery.attempts.length, 1);
      assert.equal(delivery.attempts[0]!.statusCode, null);
      assert.match(delivery.attempts[0]!.error ?? '', /private|loopback|metadata/);
    }
    assert.equal(listening.received.length, 0, 'no request reached the local receiver');
  } finally {
    await guarded.close();
  }
});
