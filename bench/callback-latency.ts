import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { createSegue } from '../src/app/segue.js';
import { loadConfig } from '../src/config/config.js';
import { startCallbackReceiver } from '../test/helpers/callback-receiver.js';
import { endTask } from '../test/helpers/terminal-tasks.js';

function percentile(sorted: readonly number[], fraction: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]! * 10) / 10;
}

/**
 * Callback latency: from the commit of a task's terminal state to the first attempt reaching a
 * local receiver, over a few hundred tasks: one at a time, then all at once (a burst).
 */
export async function callbackLatencyBenchmark(): Promise<Record<string, unknown>> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'segue-bench-callbacks-'));
  const config = loadConfig({ SEGUE_DATA_DIR: dataDir, SEGUE_BOOTSTRAP_KEY: 'sk-bench-0123456789abcdef', SEGUE_ALLOW_PRIVATE_NETWORKS: 'true' });
  const segue = await createSegue(config, { logger: pino({ level: 'silent' }) });
  const receiver = await startCallbackReceiver(() => 200);
  try {
    await segue.keys.ensureBootstrap(config.bootstrapKey, 0);
    const key = (await segue.keys.authenticate(config.bootstrapKey!))!;
    segue.worker.start();
    const endedAt = new Map<string, number>();
    const latencies = () =>
      receiver.received
        .map((callback) => callback.receivedAt - endedAt.get(callback.body.data.taskId)!)
        .sort((a, b) => a - b);
    const waitForArrivals = async (count: number) => {
      while (receiver.received.length < count) await new Promise((resolve) => setTimeout(resolve, 1));
    };

    const sequential = 300;
    for (let index = 0; index < sequential; index++) {
      const task = await endTask(segue.storage, key.id, receiver.url);
      endedAt.set(task.id, task.finishedAt!);
      await waitForArrivals(index + 1);
    }
    const oneAtATime = latencies();

    receiver.received.length = 0;
    const burst = 300;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: burst }, async () => {
        const task = await endTask(segue.storage, key.id, receiver.url);
        endedAt.set(task.id, task.finishedAt!);
      }),
    );
    await waitForArrivals(burst);
    const inBurst = latencies();
    return {
      benchmark: 'callback-latency',
      oneAtATime: { tasks: sequential, p50Ms: percentile(oneAtATime, 0.5), p99Ms: percentile(oneAtATime, 0.99) },
      burst: {
        tasks: burst,
        p50Ms: percentile(inBurst, 0.5),
        p99Ms: percentile(inBurst, 0.99),
        allDeliveredInMs: Date.now() - started,
      },
      // Tasks end one by one in real use; the burst (all committed at once, in this same process)
      // shows the queueing behind it.
      targets: { oneAtATimeP50MsUnder: 200 },
      met: percentile(oneAtATime, 0.5) < 200,
    };
  } finally {
    await receiver.close();
    await segue.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
