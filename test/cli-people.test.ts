import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from './helpers/http-client.js';
import { media } from './helpers/media-checks.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';

/*
 * `segue generate | extend | tasks show | tasks list` as a person runs them: a real child process
 * (stderr is a pipe, not a terminal) against a real Segue over HTTP.
 */

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'segue.js');
const scratch = temporaryDirectory('segue-cli-');
let harness: TestSegue;
let base: string;
let mediaServer: http.Server;
let generatedId: string;
let extendedId: string;

before(async () => {
  const port = await freePort();
  harness = await startTestSegue({ environment: { PORT: String(port), SEGUE_ALLOW_PRIVATE_NETWORKS: 'true', SEGUE_SHUTDOWN_GRACE_SECONDS: '1' } });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  base = `http://127.0.0.1:${port}`;
  mediaServer = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'video/mp4' }).end('not a video'));
  await new Promise<void>((resolve) => mediaServer.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  mediaServer.closeAllConnections();
  await new Promise((resolve) => mediaServer.close(resolve));
  await harness.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** Runs `segue ARGS` with SEGUE_URL and SEGUE_API_KEY set (unless overridden) and nothing else of the shell's SEGUE_*. */
function segue(args: string[], environment: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SEGUE_')));
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...inherited, SEGUE_URL: base, SEGUE_API_KEY: harness.key, ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Checks the plain progress lines (one per change, no `\r`) and the final "saved" line; returns the statuses seen. */
function progressLines(stderr: string, id: string, out: string): string[] {
  assert.doesNotMatch(stderr, /\r/, 'no bar redrawing when stderr is not a terminal');
  const lines = stderr.trimEnd().split('\n');
  assert.match(lines.pop()!, new RegExp(`^saved ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ bytes\\)$`));
  for (const line of lines) assert.match(line, new RegExp(`^${id} (queued|running|succeeded) \\d+%$`));
  assert.equal(lines.at(-1), `${id} succeeded 100%`);
  assert.equal(new Set(lines).size, lines.length, 'a line per change, not per poll');
  return lines;
}

async function assertVideo(file: string, seconds: number): Promise<void> {
  const info = await media.probe(file);
  assert.equal(info.video?.codec, 'h264');
  assert.equal(info.audio?.codec, 'aac');
  assert.ok(Math.abs(info.video!.durationSeconds - seconds) <= 0.1, `${info.video!.durationSeconds} s`);
}

test('generate --image FILE --wait --out: the task id alone on stdout, progress lines on stderr, a real video', async () => {
  const image = path.join(scratch, 'first-frame.png');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=640x360', '-frames:v', '1', image]);
  const out = path.join(scratch, 'boat.mp4');
  const run = await segue(['generate', '--prompt', 'A paper boat', '--image', image, '--aspect', '16:9', '--seed', '24680', '--wait', '--out', out]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^[0-9a-f]{32}\n$/);
  generatedId = run.stdout.trim();
  progressLines(run.stderr, generatedId, out);
  await assertVideo(out, 8);
  const task = await harness.segue.storage.tasks.findById(generatedId);
  assert.equal(task?.engineDetails?.['method'], 'image_animation', 'the image was sent as a data: URI and used');
});

test('extend --task ID --model fast --wait --out: the whole video, 15 s', async () => {
  const out = path.join(scratch, 'boat-longer.mp4');
  const run = await segue(['extend', '--task', generatedId, '--prompt', 'It spins', '--model', 'fast', '--wait', '--out', out]);
  assert.equal(run.code, 0, run.stderr);
  extendedId = run.stdout.trim();
  assert.equal(run.stdout, `${extendedId}\n`);
  progressLines(run.stderr, extendedId, out);
  await assertVideo(out, 15);
});

test('tasks show and tasks list, as text and as JSON', async () => {
  const shown = await segue(['tasks', 'show', extendedId, '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  const task = JSON.parse(shown.stdout);
  assert.deepEqual([task.id, task.status, task.operation, task.parentTaskId, task.progress], [extendedId, 'succeeded', 'extend', generatedId, 100]);
  assert.ok(task.videoUrl && task.segmentUrl);

  const text = await segue(['tasks', 'show', extendedId]);
  assert.match(text.stdout, new RegExp(`^id {8}${extendedId}$`, 'm'));
  assert.match(text.stdout, /^status {4}succeeded 100%$/m);
  assert.match(text.stdout, /^made by {3}local \(/m);

  const listed = await segue(['tasks', 'list']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(listed.stdout.trimEnd().split('\n').map((line) => line.split(/\s+/).slice(0, 4)), [
    [extendedId, 'succeeded', '100%', 'extend'],
    [generatedId, 'succeeded', '100%', 'generate'],
  ]);
  assert.equal(listed.stderr, '');

  const paged = await segue(['tasks', 'list', '--limit', '1', '--json']);
  assert.deepEqual(JSON.parse(paged.stdout).tasks.map((entry: { id: string }) => entry.id), [extendedId]);
  assert.equal(JSON.parse(paged.stdout).next, extendedId);
  const more = await segue(['tasks', 'list', '--limit', '1']);
  assert.equal(more.stderr, `more: segue tasks list --after ${extendedId}\n`);
  const rest = await segue(['tasks', 'list', '--after', extendedId, '--json']);
  assert.deepEqual(JSON.parse(rest.stdout), { tasks: [JSON.parse((await segue(['tasks', 'show', generatedId, '--json'])).stdout)], next: null });
});

test('exit codes: 2 for usage mistakes, 1 for a failed task (its message on stderr) or a refused request', async () => {
  const usage: string[][] = [
    [],
    ['generate'],
    ['generate', '--prompt', 'x', '--bogus'],
    ['generate', '--prompt', 'x', '--seed', 'soon'],
    ['generate', '--prompt', 'x', '--aspect', '4:3'],
    ['extend', '--prompt', 'x'],
    ['extend', '--prompt', 'x', '--task', 'a', '--video', 'https://example.com/a.mp4'],
    ['extend', '--prompt', 'x', '--task', 'a', '--model', 'turbo'],
    ['tasks', 'show'],
  ];
  for (const args of usage) {
    const run = await segue(args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /Usage: segue/);
    assert.equal(run.stdout, '');
  }
  const keyless = await segue(['generate', '--prompt', 'x'], { SEGUE_API_KEY: '' });
  assert.equal(keyless.code, 2);
  assert.match(keyless.stderr, /SEGUE_API_KEY/);

  const badVideo = `http://127.0.0.1:${(mediaServer.address() as AddressInfo).port}/clip.mp4`;
  const failed = await segue(['extend', '--video', badVideo, '--prompt', 'more', '--wait']);
  assert.equal(failed.code, 1, failed.stderr);
  const id = failed.stdout.trim();
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.match(failed.stderr, new RegExp(`^${id} failed \\d+%$`, 'm'));
  assert.match(failed.stderr, new RegExp(`^segue: task ${id} failed: .+`, 'm'));

  const refused = await segue(['generate', '--prompt', 'x', '--key', 'sk-wrong-key-000000000']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /You do not have access permissions/);
  const unreachable = await segue(['tasks', 'list'], { SEGUE_URL: `http://127.0.0.1:${await freePort()}` });
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /^segue: fetch failed \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/m);
  const unknown = await segue(['tasks', 'show', 'f'.repeat(32)]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /record is null/);
});

test('the operator commands tasks settle and tasks reconciling still run on the database, not over HTTP', async () => {
  const database = { SEGUE_URL: `http://127.0.0.1:${await freePort()}`, SEGUE_DATA_DIR: harness.dataDir };
  const settle = await segue(['tasks', 'settle', generatedId, '--refund'], database);
  assert.equal(settle.code, 1);
  assert.equal(settle.stderr, 'the task is succeeded, not reconciling\n');
  const reconciling = await segue(['tasks', 'reconciling', '--json'], database);
  assert.equal(reconciling.code, 0, reconciling.stderr);
  assert.equal(reconciling.stdout, '[]\n');
});
