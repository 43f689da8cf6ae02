import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from './helpers/http-client.js';
import { startTestSegue, temporaryDirectory } from './helpers/test-segue.js';

/*
 * HTTPS from SEGUE_TLS_CERT and SEGUE_TLS_KEY: `npm start` (dist/src/main.js) as a real process,
 * called over TLS with the test's own CA; plain HTTP on the same port is not served.
 */

const mainScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');
const directory = temporaryDirectory('segue-https-');
const KEY = 'sk-https-test-0123456789';

/** Node's crypto makes keys but not X.509 certificates: the certificate comes from openssl. */
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const needsOpenssl = hasOpenssl || process.env['CI'] === 'true' ? false : 'openssl is not installed, so no test certificate can be made (Node cannot make X.509)';

after(() => fs.rmSync(directory, { recursive: true, force: true }));

/** A self-signed certificate for 127.0.0.1 and localhost, which the tests trust as their CA. */
function makeCertificate(): { cert: string; key: string } {
  const cert = path.join(directory, 'cert.pem');
  const key = path.join(directory, 'key.pem');
  if (!fs.existsSync(cert)) {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert,
    ], { stdio: 'ignore' });
  }
  return { cert, key };
}

/** `npm start` with these variables on a fresh data directory (killed after a minute); stdout and stderr are collected. */
function startMain(environment: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SEGUE_')));
  const child = spawn(process.execPath, [mainScript], {
    env: { ...inherited, HOST: '127.0.0.1', SEGUE_DATA_DIR: temporaryDirectory('segue-https-data-'), SEGUE_BOOTSTRAP_KEY: KEY, SEGUE_RUN_WORKER: 'false', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  // A server that should have stopped but did not must fail the test, not hang it.
  const stopper = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))).finally(() => clearTimeout(stopper));
  return { child, output: () => output, exited };
}

/** A GET that resolves with the status and body, or rejects with the connection's error. */
function get(client: typeof http | typeof https, url: string, options: https.RequestOptions = {}): Promise<{ status: number; body: string; httpVersion: string; peer: string | undefined }> {
  return new Promise((resolve, reject) => {
    const request = client.get(url, { ...options, headers: { authorization: `Bearer ${KEY}` }, timeout: 10_000 }, (response) => {
      const peer = (response.socket as TLSSocket).getPeerCertificate?.().subject.CN?.toString();
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body, httpVersion: response.httpVersion, peer }));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
  });
}

test('npm start serves HTTPS (HTTP/1.1) with SEGUE_TLS_CERT and SEGUE_TLS_KEY; links default to https; plain http:// is not served', { skip: needsOpenssl }, async () => {
  const { cert, key } = makeCertificate();
  const port = await freePort();
  const server = startMain({ PORT: String(port), SEGUE_TLS_CERT: cert, SEGUE_TLS_KEY: key, SEGUE_LOG_LEVEL: 'info' });
  try {
    const ready = await new Promise<{ publicUrl: string }>((resolve, reject) => {
      const look = () => {
        const line = server.output().split('\n').find((text) => text.includes('"segue is ready"'));
        if (line) return resolve(JSON.parse(line));
        if (server.child.exitCode !== null) return reject(new Error(`start-up failed:\n${server.output()}`));
        setTimeout(look, 100);
      };
      look();
    });
    assert.equal(ready.publicUrl, `https://127.0.0.1:${port}`);

    const ca = fs.readFileSync(cert);
    const credit = await get(https, `https://127.0.0.1:${port}/api/v1/chat/credit`, { ca });
    assert.equal(credit.status, 200);
    assert.deepEqual(JSON.parse(credit.body), { code: 200, msg: 'success', data: 10000 });
    assert.equal(credit.httpVersion, '1.1');
    assert.equal(credit.peer, 'localhost');

    await assert.rejects(get(https, `https://127.0.0.1:${port}/healthz`), /self-signed certificate/, 'the certificate is really checked');
    await assert.rejects(get(http, `http://127.0.0.1:${port}/healthz`), (error: NodeJS.ErrnoException) => ['ECONNRESET', 'HPE_INVALID_CONSTANT'].includes(error.code ?? ''));
  } finally {
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  }
});

test('in-process over HTTPS, app.inject still answers every dialect', { skip: needsOpenssl }, async () => {
  const { cert, key } = makeCertificate();
  const harness = await startTestSegue({ runWorker: false, environment: { SEGUE_TLS_CERT: cert, SEGUE_TLS_KEY: key } });
  try {
    assert.ok(harness.segue.http.server instanceof https.Server);
    assert.equal((await harness.segue.http.inject({ url: '/healthz' })).statusCode, 200);
    assert.equal((await harness.segue.http.inject({ url: '/api/v1/chat/credit', headers: harness.headers })).json().code, 200);
    assert.equal((await harness.segue.http.inject({ url: '/v2/video/generations?generation_id=nope', headers: harness.headers })).statusCode, 404);
  } finally {
    await harness.close();
  }
});

test('start-up stops naming the variable and the file: one of the two, an unreadable file, not PEM, a key of another certificate', async () => {
  const missing = path.join(directory, 'missing.pem');
  const notPem = path.join(directory, 'not-pem.pem');
  fs.writeFileSync(notPem, 'not a certificate\n');
  const otherKey = path.join(directory, 'other-key.pem');
  fs.writeFileSync(otherKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ SEGUE_TLS_CERT: missing }, /SEGUE_TLS_CERT is set but SEGUE_TLS_KEY is not/],
    [{ SEGUE_TLS_KEY: missing }, /SEGUE_TLS_KEY is set but SEGUE_TLS_CERT is not/],
    [{ SEGUE_TLS_CERT: missing, SEGUE_TLS_KEY: otherKey }, new RegExp(`SEGUE_TLS_CERT: cannot read ${missing} \\(ENOENT\\)`)],
    [{ SEGUE_TLS_CERT: notPem, SEGUE_TLS_KEY: otherKey }, new RegExp(`SEGUE_TLS_CERT: ${notPem} is not a PEM certificate`)],
  ];
  if (hasOpenssl) {
    const { cert } = makeCertificate();
    cases.push([{ SEGUE_TLS_CERT: cert, SEGUE_TLS_KEY: notPem }, new RegExp(`SEGUE_TLS_KEY: ${notPem} is not a PEM private key`)]);
    cases.push([{ SEGUE_TLS_CERT: cert, SEGUE_TLS_KEY: otherKey }, /SEGUE_TLS_KEY \(.+\) is not the private key of the certificate in SEGUE_TLS_CERT/]);
  }
  for (const [environment, message] of cases) {
    const server = startMain({ PORT: String(await freePort()), ...environment });
    assert.equal(await server.exited, 1, server.output());
    assert.match(server.output(), message);
  }
});
