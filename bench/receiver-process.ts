import { fork } from 'node:child_process';
import { cpuMs, startCallbackReceiver } from '../test/helpers/callback-receiver.js';

/** One callback as a benchmark sees it: its task, when it arrived (wall clock) and this process's CPU time then. */
export interface Arrival {
  readonly taskId: string;
  readonly receivedAt: number;
  /** This (Segue's) process's CPU time when the arrival was known here, in ms. */
  readonly receivedAtCpuMs: number;
}

/** Where the benchmark's receiver runs: its own process (as a remote receiver would), or inside Segue's. */
export type ReceiverPlace = 'child-process' | 'in-process';

export interface BenchReceiver {
  readonly url: string;
  readonly place: ReceiverPlace;
  /** Every arrival since the start or the last `clear`. */
  arrivals(): readonly Arrival[];
  clear(): void;
  close(): Promise<void>;
}

/**
 * The callback receiver of a benchmark. By default in a child process: a real receiver is on
 * another machine, and one inside Segue's process would spend Segue's event loop on parsing the
 * requests it sends. BENCH_CALLBACK_RECEIVER=in-process keeps the old in-process measurement.
 * From a child, arrivals come back over IPC in batches every few milliseconds; their wall times
 * are the child's (the same machine clock), their CPU times this process's when the batch came in
 * (an upper bound).
 */
export async function startBenchReceiver(): Promise<BenchReceiver> {
  if (process.env['BENCH_CALLBACK_RECEIVER'] === 'in-process') {
    const receiver = await startCallbackReceiver(() => 200);
    const arrivals: Arrival[] = [];
    return {
      url: receiver.url,
      place: 'in-process',
      arrivals: () => {
        // Only the callbacks not seen yet are mapped: the benchmarks ask every millisecond.
        for (const callback of receiver.received.slice(arrivals.length)) {
          arrivals.push({ taskId: callback.body.data.taskId, receivedAt: callback.receivedAt, receivedAtCpuMs: callback.receivedAtCpuMs });
        }
        return arrivals;
      },
      clear: () => {
        receiver.received.length = 0;
        arrivals.length = 0;
      },
      close: () => receiver.close(),
    };
  }
  const child = fork(new URL('./receiver-process.js', import.meta.url), ['--serve'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const received: Arrival[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the receiver process exited (${code})`)));
    child.on('message', (message: { url?: string; arrivals?: Array<[string, number]> }) => {
      if (message.url) resolve(message.url);
      if (message.arrivals) {
        const now = cpuMs();
        for (const [taskId, receivedAt] of message.arrivals) received.push({ taskId, receivedAt, receivedAtCpuMs: now });
      }
    });
  });
  child.removeAllListeners('exit');
  return {
    url,
    place: 'child-process',
    arrivals: () => received,
    clear: () => (received.length = 0),
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The child: a real HTTP receiver answering 200, reporting each arrival's task and time to its parent. */
async function serve(): Promise<void> {
  const receiver = await startCallbackReceiver(() => 200);
  let pending: Array<[string, number]> = [];
  let reported = 0;
  const report = () => {
    if (pending.length > 0) process.send!({ arrivals: pending });
    pending = [];
  };
  // Arrivals are read from the helper's list and sent every few milliseconds, in batches.
  const timer = setInterval(() => {
    const { received } = receiver;
    for (; reported < received.length; reported++) {
      const callback = received[reported]!;
      pending.push([callback.body.data.taskId, callback.receivedAt]);
    }
    // The helper's list is not needed once reported.
    received.length = 0;
    reported = 0;
    report();
  }, 5);
  process.send!({ url: receiver.url });
  process.once('SIGTERM', () => {
    clearInterval(timer);
    void receiver.close().then(() => process.exit(0));
  });
  process.once('disconnect', () => process.exit(0));
}

if (process.argv.includes('--serve')) await serve();
