import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import { KeyService } from '../src/services/key-service.js';
import { openStorage } from '../src/storage/open-storage.js';
import { temporaryDirectory } from './helpers/test-segue.js';

const run = promisify(execFile);
const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'segue.js');

test('`segue keys create --json` prints a working key and a whsec_ secret; only the hash is stored', async () => {
  const dataDir = temporaryDirectory();
  try {
    const { stdout } = await run(process.execPath, [cli, 'keys', 'create', '--name', 'ci', '--credits', '250', '--json'], {
      env: { ...process.env, SEGUE_DATA_DIR: dataDir },
    });
    const issued = JSON.parse(stdout) as { key: string; webhookSecret: string };
    assert.match(issued.key, /^sk-segue-[A-Za-z0-9_-]{32}$/);
    assert.match(issued.webhookSecret, /^whsec_[A-Za-z0-9+/]{43}=$/);

    const storage = await openStorage({ dataDir });
    try {
      const keys = new KeyService(storage);
      const record = await keys.authenticate(issued.key);
      assert.equal(record?.name, 'ci');
      assert.equal(await keys.balance(record!.id), 250);
    } finally {
      await storage.close();
    }
    const raw = new SqliteDatabase(path.join(dataDir, 'segue.db'), { readonly: true });
    const everything = JSON.stringify(raw.prepare('select * from api_keys').all());
    raw.close();
    assert.equal(everything.includes(issued.key), false, 'the key itself is not stored');
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('bad CLI use answers with the usage and exit code 2', async () => {
  await assert.rejects(run(process.execPath, [cli, 'keys', 'create']), (error: { code: number; stderr: string }) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /--name/);
    return true;
  });
});

test('the first start creates one key when none is configured; later starts do not', async () => {
  const dataDir = temporaryDirectory();
  const storage = await openStorage({ dataDir });
  try {
    const keys = new KeyService(storage);
    const first = await keys.ensureBootstrap(undefined, 10);
    assert.ok(first.issued?.key);
    assert.equal((await keys.ensureBootstrap(undefined, 10)).issued, undefined);
    assert.equal((await keys.ensureBootstrap('sk-configured-0123456789', 5)).issued, undefined);
    const configured = await keys.authenticate('sk-configured-0123456789');
    assert.equal(await keys.balance(configured!.id), 5);
    await keys.ensureBootstrap('sk-configured-0123456789', 5);
    assert.equal(await keys.balance(configured!.id), 5, 'ensuring again grants nothing more');
  } finally {
    await storage.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a rotated or revoked bootstrap key is never brought back by the next start', async () => {
  const dataDir = temporaryDirectory();
  const storage = await openStorage({ dataDir });
  try {
    const keys = new KeyService(storage);
    const rotatedValue = 'sk-bootstrap-rotated-0123';
    const created = await keys.ensureBootstrap(rotatedValue, 100);
    assert.equal(created.state, 'created');
    const newValue = await keys.rotate(created.keyId!);
    assert.equal((await keys.ensureBootstrap(rotatedValue, 100)).state, 'rotated');
    assert.equal(await keys.authenticate(rotatedValue), undefined, 'the old value stays refused');
    assert.equal(await keys.balance((await keys.authenticate(newValue))!.id), 100, 'no fresh credits anywhere');
    assert.equal((await keys.list()).length, 1);

    const revokedValue = 'sk-bootstrap-revoked-0123';
    const second = await keys.ensureBootstrap(revokedValue, 100);
    await keys.revoke(second.keyId!);
    const again = await keys.ensureBootstrap(revokedValue, 100);
    assert.deepEqual(again, { state: 'revoked', keyId: second.keyId });
    assert.equal(await keys.authenticate(revokedValue), undefined);
    assert.equal((await keys.list()).length, 2);
  } finally {
    await storage.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('`segue callbacks list` shows the attempt log and `redeliver` reopens an exhausted delivery', async () => {
  const { startTestSegue } = await import('./helpers/test-segue.js');
  const { endTask } = await import('./helpers/terminal-tasks.js');
  const { waitFor } = await import('./helpers/wait-for.js');
  const harness = await startTestSegue({
    environment: { SEGUE_ALLOW_PRIVATE_NETWORKS: 'true', SEGUE_CALLBACK_RETRY_SCHEDULE: '0' },
  });
  try {
    const key = (await harness.segue.keys.authenticate(harness.key))!;
    // Port 9 (discard) on loopback: nothing listens, every attempt fails.
    const task = await endTask(harness.segue.storage, key.id, 'http://127.0.0.1:9/callback');
    await waitFor('the delivery to be exhausted', async () => (await harness.segue.storage.callbacks.listForTask(task.id))[0]?.state === 'exhausted');
    await harness.segue.worker.stop(0);

    const environment = { ...process.env, SEGUE_DATA_DIR: harness.dataDir };
    const listed = JSON.parse((await run(process.execPath, [cli, 'callbacks', 'list', '--task', task.id, '--json'], { env: environment })).stdout);
    assert.equal(listed.length, 1);
    assert.equal(listed[0].state, 'exhausted');
    assert.equal(listed[0].attempts.length, 1);
    assert.match(listed[0].attempts[0].error, /ECONNREFUSED|failed/);

    const reopened = JSON.parse(
      (await run(process.execPath, [cli, 'callbacks', 'redeliver', '--delivery', listed[0].id, '--json'], { env: environment })).stdout,
    );
    assert.equal(reopened.state, 'pending');
    assert.equal(reopened.round, 2);
    const again = JSON.parse(
      (await run(process.execPath, [cli, 'callbacks', 'redeliver', '--key', harness.key, '--exhausted', '--json'], { env: environment })).stdout,
    );
    assert.deepEqual(again, { redelivered: 0 }, 'nothing else is exhausted');
  } finally {
    await harness.close();
  }
});

test('`segue credits grant/history`, `keys list/limits/revoke` manage accounts from the shell', async () => {
  const dataDir = temporaryDirectory();
  const environment = { ...process.env, SEGUE_DATA_DIR: dataDir };
  const cliJson = async (...args: string[]) => JSON.parse((await run(process.execPath, [cli, ...args, '--json'], { env: environment })).stdout);
  try {
    const issued = await cliJson('keys', 'create', '--name', 'shop', '--credits', '100');
    assert.deepEqual(await cliJson('credits', 'grant', issued.key, '25', '--note', 'welcome'), { balance: 125 });
    const history = await cliJson('credits', 'history', issued.key);
    assert.deepEqual(history.map((entry: { kind: string; amount: number }) => [entry.kind, entry.amount]), [['grant', 25], ['grant', 100]]);
    const limited = await cliJson('keys', 'limits', '--key', issued.key, '--rate', '5/1m', '--max-unfinished', '3');
    assert.deepEqual([limited.rateLimit, limited.maxUnfinishedTasks], ['5/1m', 3]);
    const listed = await cliJson('keys', 'list');
    assert.equal(listed.length, 1);
    assert.equal(listed[0].balance, 125);
    assert.equal(JSON.stringify(listed).includes(issued.key), false, 'listings never show the key');
    await run(process.execPath, [cli, 'keys', 'revoke', '--key', listed[0].id], { env: environment });
    assert.notEqual((await cliJson('keys', 'show', '--key', listed[0].id)).revokedAt, null);
    await assert.rejects(run(process.execPath, [cli, 'credits', 'grant', listed[0].id, 'lots'], { env: environment }), /whole number/);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
