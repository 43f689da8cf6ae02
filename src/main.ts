import { ConfigError, loadConfig } from './config/config.js';
import { runServer } from './app/run-process.js';

/** `npm start`: serves the API and, unless SEGUE_RUN_WORKER=false, runs the job worker in-process. */
async function main(): Promise<void> {
  const config = loadConfig();
  await runServer(config, { withWorker: config.runWorker });
}

main().catch((error) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`segue failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
  process.exit(1);
});
