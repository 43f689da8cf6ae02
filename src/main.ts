import { ConfigError, loadConfig } from './config/config.js';
import { createSegue } from './app/segue.js';

/** `npm start`: serves the API and, unless SEGUE_RUN_WORKER=false, runs the job worker in-process. */
async function main(): Promise<void> {
  const config = loadConfig();
  const segue = await createSegue(config);
  const bootstrap = await segue.keys.ensureBootstrap(config.bootstrapKey, config.bootstrapCredits);
  if (bootstrap.issued) {
    // Printed once, on the first start: the key is stored only as a hash.
    process.stdout.write(
      `\n  Segue created your first API key (it is shown only this once):\n\n    ${bootstrap.issued.key}\n\n` +
        `  Webhook signing secret: ${bootstrap.issued.webhookSecret}\n\n`,
    );
  } else if (bootstrap.state === 'revoked') {
    segue.logger.warn({ keyId: bootstrap.keyId }, 'SEGUE_BOOTSTRAP_KEY was revoked: it stays revoked and is not recreated');
  } else if (bootstrap.state === 'rotated') {
    segue.logger.warn('SEGUE_BOOTSTRAP_KEY was rotated away: the old value stays refused and is not recreated');
  }
  if (!segue.media.usable()) segue.logger.warn('ffmpeg/ffprobe are not usable: tasks will fail until they are');
  if (config.runWorker) segue.worker.start();
  await segue.http.listen({ host: config.host, port: config.port });
  segue.logger.info({ publicUrl: config.publicUrl, worker: config.runWorker }, 'segue is ready');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    segue.logger.info({ signal }, 'shutting down');
    segue.close().then(
      () => process.exit(0),
      (error) => {
        segue.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`segue failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
  process.exit(1);
});
