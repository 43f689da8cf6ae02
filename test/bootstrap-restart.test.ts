import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { freePort } from './helpers/http-client.js';
import { SegueProcess } from './helpers/segue-process.js';
import { temporaryDirectory } from './helpers/test-segue.js';

const BOOTSTRAP = 'sk-bootstrap-restart-0123456789';
const ADMIN = 'admin-key-for-restart-tests-0123';
const dataDir = temporaryDirectory('segue-bootstrap-');
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

async function credit(server: SegueProcess, key: string): Promise<{ code: number; data: unknown }> {
  const response = await fetch(`${server.baseUrl}/api/v1/chat/credit`, { headers: { authorization: `Bearer ${key}` } });
  return (await response.json()) as { code: number; data: unknown };
}

async function admin(server: SegueProcess, path: string): Promise<any> {
  const response = await fetch(`${server.baseUrl}/admin${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

test('restarts after rotating and after revoking the bootstrap key: the old value stays refused and start-up succeeds', async () => {
  const server = new SegueProcess({
    port: await freePort(),
    dataDir,
    environment: { SEGUE_BOOTSTRAP_KEY: BOOTSTRAP, SEGUE_BOOTSTRAP_CREDITS: '100000', SEGUE_ADMIN_KEY: ADMIN, SEGUE_LOG_LEVEL: 'info' },
  });
  try {
    server.start();
    await server.whenUp();
    assert.deepEqual(await credit(server, BOOTSTRAP), { code: 200, msg: 'success', data: 100000 } as never);
    const keyId = ((await (await fetch(`${server.baseUrl}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as any).keys[0].id;
    const rotated: string = (await admin(server, `/keys/${keyId}/rotate`)).key;
    await server.stop();

    server.start();
    await server.whenUp();
    assert.equal((await credit(server, BOOTSTRAP)).code, 401, 'the rotated-away value is not recreated with fresh credits');
    assert.equal((await credit(server, rotated)).data, 100000, 'the account goes on under its new value');
    assert.match(server.logTail(200), /SEGUE_BOOTSTRAP_KEY was rotated away/);
    await admin(server, `/keys/${keyId}/revoke`);
    await server.stop();

    server.start();
    await server.whenUp();
    assert.equal((await credit(server, rotated)).code, 401);
    assert.equal((await credit(server, BOOTSTRAP)).code, 401);
  } finally {
    await server.stop();
  }
});

test('a revoked bootstrap key (never rotated) does not stop the next start, and stays revoked', async () => {
  const directory = temporaryDirectory('segue-bootstrap-revoked-');
  const server = new SegueProcess({
    port: await freePort(),
    dataDir: directory,
    environment: { SEGUE_BOOTSTRAP_KEY: BOOTSTRAP, SEGUE_ADMIN_KEY: ADMIN, SEGUE_LOG_LEVEL: 'info' },
  });
  try {
    server.start();
    await server.whenUp();
    const keyId = ((await (await fetch(`${server.baseUrl}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as any).keys[0].id;
    await admin(server, `/keys/${keyId}/revoke`);
    await server.stop();
    server.start();
    await server.whenUp();
    assert.equal((await credit(server, BOOTSTRAP)).code, 401);
    assert.match(server.logTail(200), /SEGUE_BOOTSTRAP_KEY was revoked: it stays revoked and is not recreated/);
  } finally {
    await server.stop();
    fs.rmSync(directory, { recursive: true, force: true });
  }
});
