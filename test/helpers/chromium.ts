import fs from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); playwright-core drives it, no browser is downloaded. */
export const CHROMIUM_PATH = process.env['SEGUE_CHROMIUM'] ?? '/usr/bin/chromium';

const present = fs.existsSync(CHROMIUM_PATH);

/** Why the browser tests cannot run here (false: they run). With CI=true they never skip: they fail. */
export const chromiumSkip: string | false =
  present || process.env['CI'] === 'true' ? false : `${CHROMIUM_PATH} is missing (apt-get install chromium): browser tests skipped`;

/** Headless Chromium with no network of its own (no updates, no sync, no QUIC). */
export async function launchChromium(): Promise<Browser> {
  if (!present) throw new Error(`CI=true but ${CHROMIUM_PATH} is missing: the browser tests must run in CI (.ci/run installs chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
