import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** `../shared` beside the repository: the published schemas and real clips (CI has it; a user's clone may not). */
export const sharedDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shared');

const present = fs.existsSync(path.join(sharedDirectory, 'reference')) && fs.existsSync(path.join(sharedDirectory, 'fixtures'));
if (!present && process.env['CI'] === 'true') {
  throw new Error(`CI=true but ${sharedDirectory} (published schemas, fixtures) is missing: the shared-material tests must run in CI`);
}

/** The skip reason of a test that needs `../shared`, or false when it is there. */
export const sharedMissing: string | false = present ? false : `${sharedDirectory} is not beside the repository: shared-material test skipped`;
