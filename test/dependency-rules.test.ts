import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const depcruise = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

test('no import climbs back up the layers (docs/architecture.md, .dependency-cruiser.cjs)', async () => {
  const run = promisify(execFile);
  const outcome = await run(process.execPath, [depcruise, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: root, timeout: 120_000 }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );
  assert.equal(outcome.code, 0, `dependency rules broken:\n${outcome.stdout}`);
  assert.match(outcome.stdout, /no dependency violations found/);
});
