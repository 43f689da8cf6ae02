import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startCallbackReceiver } from './helpers/callback-receiver.js';
import { endTask } from './helpers/terminal-tasks.js';
import { startTestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

/** A real receiver that takes every callback in and answers none until `release()`. */
async function startHoldingReceiver() {
  const held: http.ServerResponse[] = [];
  let mostAtOnce = 0;
  let answered = 0;
  let holding = true;
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (!holding) {
        answered++;
        return void response.writeHead(200).end('{}');
      }
      held.push(response);
      mostAtOnce = Math.max(mostAtOnce, held.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow`,
    held: () => held.length,
    mostAtOnce: () => mostAtOnce,
    answered: () => answered,
    release() {
      holding = false;
      for (const response of held.splice(0)) {
        answered++;
        response.writeHead(200).end('{}');
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

test('a receiver that does not answer holds at most its share of the worker; another destination is called meanwhile', async () => {
  const harness = await startTestSegue({
    environment: {
      SEGUE_ALLOW_PRIVATE_NETWORKS: 'true',
      // Fewer places than the slow receiver has deliveries: without a per-destination limit it would take them all.
      SEGUE_WORKER_CONCURRENCY: '4',
      SEGUE_CALLBACK_CONCURRENCY_PER_DESTINATION: '2',
      SEGUE_CALLBACK_TIMEOUT_SECONDS: '60',
    },
  });
  const slow = await startHoldingReceiver();
  const fast = await startCallbackReceiver(() => 200);
  try {
    const key = (await harness.segue.keys.authenticate(harness.key))!;
    for (let index = 0; index < 6; index++) await endTask(harness.segue.storage, key.id, slow.url);
    await waitFor('the slow receiver to hold its share', () => slow.held() === 2, { intervalMs: 10 });

    const other = await endTask(harness.segue.storage, key.id, fast.url);
    await waitFor('the other destination to be called', () => fast.received.some((callback) => callback.body.data?.taskId === other.id), {
      timeoutMs: 20_000,
      intervalMs: 10,
    });
    assert.equal(slow.answered(), 0, 'the slow receiver was still holding every delivery it had');
    assert.equal(slow.mostAtOnce(), 2, 'never more than its share at once');

    slow.release();
    await waitFor('every slow delivery to arrive', () => slow.answered() === 6, { timeoutMs: 30_000, intervalMs: 10 });
  } finally {
    slow.release();
    await harness.close();
    await slow.close();
    await fast.close();
  }
});
