import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { JobKind } from '../jobs/job-kinds.js';
import { createApiProcess, createSegue, createWorkerProcess, type SegueApiProcess } from './segue.js';

/**
 * Runs the API until SIGTERM or SIGINT, with the worker in the same process when `withWorker`
 * (`npm start`) or alone (`segue serve`): ensures the bootstrap key (printing a first key once),
 * listens, and on a signal stops accepting, drains the worker and closes.
 */
export async function runServer(config: Config, options: { withWorker: boolean }): Promise<void> {
  const both = options.withWorker ? await createSegue(config) : undefined;
  const segue: SegueApiProcess = both ?? (await createApiProcess(config));
  await ensureBootstrapKey(segue, config);
  if (!segue.media.usable()) segue.logger.warn('ffmpeg/ffprobe are not usable: tasks will fail until they are');
  both?.worker.start();
  await segue.http.listen({ host: config.host, port: config.port });
  segue.logger.info({ publicUrl: config.publicUrl, worker: options.withWorker }, 'segue is ready');
  closeOnSignals(segue.logger, () => segue.close());
}

/**
 * Runs a worker alone (`segue worker`) until SIGTERM or SIGINT. A signal drains it: it stops
 * claiming, lets running jobs finish for SEGUE_SHUTDOWN_GRACE_SECONDS, then releases the rest for
 * other workers (without spending their attempts) and exits.
 */
export async function runWorker(config: Config, kinds: readonly JobKind[]): Promise<void> {
  const segue = await createWorkerProcess(config, kinds);
  segue.worker.start();
  segue.logger.info({ workerId: segue.worker.id, kinds }, 'worker started');
  closeOnSignals(segue.logger, () => segue.close());
}

async function ensureBootstrapKey(segue: SegueApiProcess, config: Config): Promise<void> {
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
}

function closeOnSignals(logger: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new work; running jobs finish or are released');
    close().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
