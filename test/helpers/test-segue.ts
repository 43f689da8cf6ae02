import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Logger, pino } from 'pino';
import { createSegue, type Segue } from '../../src/app/segue.js';
import { loadConfig } from '../../src/config/config.js';
import type { Clock } from '../../src/ports/clock.js';

export const TEST_KEY = 'sk-test-0123456789abcdef';

export function temporaryDirectory(prefix = 'segue-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestSegue {
  readonly segue: Segue;
  readonly dataDir: string;
  readonly key: string;
  /** Headers of an authenticated JSON request. */
  readonly headers: Record<string, string>;
  close(options?: { keepData?: boolean }): Promise<void>;
}

/**
 * A real Segue on a fresh data directory (real SQLite file, real ffmpeg), with a key ready.
 * The worker runs unless `runWorker: false`; tests call HTTP through inject or listen themselves.
 */
export async function startTestSegue(
  options: { environment?: Record<string, string>; runWorker?: boolean; dataDir?: string; logger?: Logger; clock?: Clock } = {},
): Promise<TestSegue> {
  const dataDir = options.dataDir ?? temporaryDirectory();
  const config = loadConfig({
    SEGUE_DATA_DIR: dataDir,
    PORT: '0',
    SEGUE_BOOTSTRAP_KEY: TEST_KEY,
    SEGUE_LOG_LEVEL: 'silent',
    SEGUE_WORKER_POLL_MS: '100',
    // Tests of other features must not trip over the product's default limits and balance.
    SEGUE_BOOTSTRAP_CREDITS: '1000000',
    SEGUE_RATE_LIMIT: 'off',
    SEGUE_READ_RATE_LIMIT: 'off',
    ...options.environment,
  });
  const segue = await createSegue(config, {
    logger: options.logger ?? pino({ level: process.env['SEGUE_TEST_LOG_LEVEL'] ?? 'silent' }),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  await segue.keys.ensureBootstrap(config.bootstrapKey, config.bootstrapCredits);
  if (options.runWorker !== false) segue.worker.start();
  return {
    segue,
    dataDir,
    key: TEST_KEY,
    headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
    async close(options: { keepData?: boolean } = {}) {
      await segue.close();
      if (!options.keepData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
