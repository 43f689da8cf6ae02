import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import { KeyService } from '../src/services/key-service.js';
import { openSqliteDatabase } from '../src/storage/database.js';
import { createSqlStorage } from '../src/storage/storage.js';
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

    const database = await openSqliteDatabase(dataDir);
    try {
      const keys = new KeyService(createSqlStorage(database.db));
      const record = await keys.authenticate(issued.key);
      assert.equal(record?.name, 'ci');
      assert.equal(await keys.balance(record!.id), 250);
    } finally {
      await database.close();
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
  const database = await openSqliteDatabase(dataDir);
  try {
    const keys = new KeyService(createSqlStorage(database.db));
    const first = await keys.ensureBootstrap(undefined, 10);
    assert.ok(first?.key);
    assert.equal(await keys.ensureBootstrap(undefined, 10), undefined);
    assert.equal(await keys.ensureBootstrap('sk-configured-0123456789', 5), undefined);
    const configured = await keys.authenticate('sk-configured-0123456789');
    assert.equal(await keys.balance(configured!.id), 5);
    await keys.ensureBootstrap('sk-configured-0123456789', 5);
    assert.equal(await keys.balance(configured!.id), 5, 'ensuring again grants nothing more');
  } finally {
    await database.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
