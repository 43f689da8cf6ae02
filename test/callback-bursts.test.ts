import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { verifySegueCallback } from '../src/callbacks/webhook-signatures.js';
import { startCallbackReceiver } from './helpers/callback-receiver.js';
import { TaskLifecycle } from '../src/engine/lifecycle/task-lifecycle.js';
import { DIALECTS } from './helpers/storage-dialects.js';
import { endTask } from './helpers/terminal-tasks.js';
import { startTestSegue } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

const STEADY = 40;
const FLAKY = 20;

for (const dialect of DIALECTS) {
  describe(`callback bursts: ${dialect.name}`, { skip: dialect.skip }, () => {
    // Ended by another lifecycle, the first attempts are queued for any worker; ended by the
    // process's own (as its engine ends them), they go straight to its worker, leased to it.
    for (const way of ['queued for any worker', "handed to the ending process's worker"] as const) {
      test(`tasks ending at once, first attempts ${way}: every callback arrives signed, each attempt logged once, every job finished`, { timeout: 120_000 }, async () => {
        const database = await dialect.create();
        const steady = await startCallbackReceiver(() => 200);
        // Its first answers fail: those deliveries are retried on the schedule, by the same jobs.
        const flaky = await startCallbackReceiver((request) => (request <= FLAKY / 2 ? 503 : 200));
        const harness = await startTestSegue({
          ...(dialect.name === 'sqlite' ? { dataDir: database.location } : {}),
          environment: {
            ...(dialect.name === 'postgres' ? { SEGUE_DATABASE_URL: database.location } : {}),
            SEGUE_ALLOW_PRIVATE_NETWORKS: 'true',
            SEGUE_CALLBACK_RETRY_SCHEDULE: '0,50ms,50ms',
          },
        });
        try {
          const { segue } = harness;
          const key = (await segue.keys.authenticate(harness.key))!;
          const lifecycle = way === 'queued for any worker' ? new TaskLifecycle(segue.storage) : segue.lifecycle;
          const tasks = await Promise.all([
            ...Array.from({ length: STEADY }, () => endTask(segue.storage, key.id, steady.url, 'succeed', lifecycle)),
            ...Array.from({ length: FLAKY }, () => endTask(segue.storage, key.id, flaky.url, 'succeed', lifecycle)),
          ]);
          await waitFor('every delivery to be delivered', async () => (await segue.storage.callbacks.countByState(['delivered']))['delivered'] === tasks.length, {
            timeoutMs: 60_000,
            intervalMs: 20,
          });

          for (const [receiver, count] of [[steady, STEADY], [flaky, FLAKY]] as const) {
            const ids = new Set(receiver.received.map((callback) => String(callback.headers['webhook-id'])));
            assert.equal(ids.size, count, 'one delivery per task');
            for (const callback of receiver.received) {
              assert.ok(verifySegueCallback({ headers: callback.headers, rawBody: callback.rawBody, webhookSecret: key.webhookSecret }), 'signed with the key\'s secret');
            }
          }
          assert.equal(steady.received.length, STEADY, 'a receiver that accepts gets each callback once');
          assert.equal(flaky.received.length, FLAKY + FLAKY / 2, 'each refused attempt was made again once');

          for (const task of tasks) {
            const [delivery, ...others] = await segue.storage.callbacks.listForTask(task.id);
            assert.equal(others.length, 0);
            const sent = [...steady.received, ...flaky.received].filter((callback) => callback.headers['webhook-id'] === delivery!.id);
            assert.equal(delivery!.state, 'delivered');
            assert.deepEqual(delivery!.attempts.map((attempt) => attempt.number), sent.map((_, index) => index + 1), 'every attempt made is logged, once');
            assert.equal(delivery!.attempts.at(-1)!.statusCode, 200);
          }
          const callbackJobs = (await segue.storage.jobs.countByKindAndState()).filter((count) => count.kind === 'callback.deliver');
          assert.deepEqual(callbackJobs, [], 'no callback job left queued, running or dead');
        } finally {
          await harness.close();
          await steady.close();
          await flaky.close();
          await database.drop();
        }
      });
    }
  });
}
