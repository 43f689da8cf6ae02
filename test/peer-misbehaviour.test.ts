import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

test('an HTTP/1.0 peer that closes right after a full body, while the client holds back, does not crash the process', async () => {
  const script = fileURLToPath(new URL('./helpers/closing-peer-child.js', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0, `the child died:\n${stderr}`);
  const size = 8 * 1024 * 1024;
  assert.deepEqual(stdout.trim().split('\n'), [...new Array(5).fill(`media ${size} ${size}`), ...new Array(5).fill(`gemini ${size}`)]);
});
