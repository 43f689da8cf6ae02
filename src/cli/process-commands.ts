import { parseArgs } from 'node:util';
import { runServer, runWorker } from '../app/run-process.js';
import { workerKinds } from '../app/worker-setup.js';
import { loadConfig, requireSharedLinkSettings } from '../config/config.js';

/** The usage lines of `serve` and `worker`. */
export const processUsage = `  serve                                                 run only the API (no worker); needs SEGUE_URL_SIGNING_SECRET and SEGUE_PUBLIC_URL
  worker [--kinds task.start,task.poll,…]               run only the job worker (no HTTP), every kind or the listed ones
                                                        (default SEGUE_WORKER_KINDS); needs the same two variables; SIGTERM drains it`;

/** `segue serve`: the API alone, on the configured database; refuses to start without the shared link settings. */
export async function serveCommand(args: string[]): Promise<void> {
  parseArgs({ args, options: {} });
  const config = loadConfig();
  requireSharedLinkSettings(config, 'serve');
  await runServer(config, { withWorker: false });
}

/** `segue worker [--kinds a,b]`: the job worker alone; `--kinds` (else SEGUE_WORKER_KINDS) names the job kinds it runs. */
export async function workerCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { kinds: { type: 'string' } } });
  const config = loadConfig();
  requireSharedLinkSettings(config, 'worker');
  const kinds =
    values.kinds === undefined
      ? workerKinds(config.workerKinds, 'SEGUE_WORKER_KINDS')
      : workerKinds(values.kinds.split(',').map((name) => name.trim()).filter(Boolean), '--kinds');
  await runWorker(config, kinds);
}
