import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { MediaError } from '../src/domain/errors.js';
import { AddressRefusedError, checkUrlShape, isPublicAddress } from '../src/net/address-guard.js';
import { SafeHttpClient } from '../src/net/safe-http.js';
import { temporaryDirectory } from './helpers/test-segue.js';

const directory = temporaryDirectory('segue-fetch-');
let server: http.Server;
let base: string;

before(async () => {
  server = http.createServer((request, response) => {
    if (request.url === '/small') return void response.end('hello');
    if (request.url === '/big') return void response.end(Buffer.alloc(4096));
    if (request.url === '/big-chunked') {
      response.write(Buffer.alloc(3000));
      return void response.end(Buffer.alloc(3000));
    }
    if (request.url === '/redirect') return void response.writeHead(302, { location: '/small' }).end();
    if (request.url === '/slow') return void setTimeout(() => response.end('late'), 2000);
    if (request.url === '/missing') return void response.writeHead(404).end();
    response.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(directory, { recursive: true, force: true });
});

test('non-public addresses are recognised in every class', () => {
  for (const address of [
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'fd00:ec2::254', 'ff02::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1',
  ]) {
    assert.equal(isPublicAddress(address), false, address);
  }
  for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111']) {
    assert.equal(isPublicAddress(address), true, address);
  }
});

test('only http(s) URLs without credentials pass the shape check', () => {
  const policy = { allowPrivateNetworks: false };
  for (const url of ['ftp://example.com/a', 'file:///etc/passwd', 'gopher://x', 'http://user:pw@example.com/', 'not a url', 'http://127.0.0.1/', 'http://[::1]/']) {
    assert.throws(() => checkUrlShape(url, policy), AddressRefusedError, url);
  }
  assert.equal(checkUrlShape('https://example.com/a.mp4', policy).hostname, 'example.com');
});

test('private destinations are refused at connect time, by IP and by hostname', async () => {
  const guarded = new SafeHttpClient({ allowPrivateNetworks: false });
  try {
    for (const url of [`${base}/small`, `${base.replace('127.0.0.1', 'localhost')}/small`]) {
      await assert.rejects(
        guarded.download(url, path.join(directory, 'x'), { maxBytes: 1000, timeoutMs: 2000 }),
        AddressRefusedError,
        url,
      );
      await assert.rejects(guarded.postJson(url, '{}', {}, { timeoutMs: 2000 }), AddressRefusedError, url);
    }
  } finally {
    await guarded.close();
  }
});

test('downloads follow redirects, cap the size and time out', async () => {
  const client = new SafeHttpClient({ allowPrivateNetworks: true });
  const target = path.join(directory, 'file');
  try {
    assert.equal((await client.download(`${base}/redirect`, target, { maxBytes: 100, timeoutMs: 2000 })).bytes, 5);
    assert.equal(fs.readFileSync(target, 'utf8'), 'hello');
    for (const url of [`${base}/big`, `${base}/big-chunked`]) {
      await assert.rejects(client.download(url, target, { maxBytes: 1000, timeoutMs: 2000 }), /larger than 1000 bytes/);
      assert.equal(fs.existsSync(target), false, 'a refused download leaves no file');
    }
    await assert.rejects(client.download(`${base}/slow`, target, { maxBytes: 1000, timeoutMs: 300 }), /timed out/);
    await assert.rejects(client.download(`${base}/missing`, target, { maxBytes: 1000, timeoutMs: 2000 }), /HTTP 404/);
  } finally {
    await client.close();
  }
});

test('data: URIs are decoded with the same size cap', async () => {
  const client = new SafeHttpClient({ allowPrivateNetworks: false });
  const target = path.join(directory, 'data');
  try {
    const result = await client.download(`data:image/png;base64,${Buffer.from('picture').toString('base64')}`, target, { maxBytes: 100, timeoutMs: 1000 });
    assert.deepEqual(result, { bytes: 7, contentType: 'image/png' });
    assert.equal(fs.readFileSync(target, 'utf8'), 'picture');
    await assert.rejects(
      client.download(`data:video/mp4;base64,${Buffer.alloc(500).toString('base64')}`, target, { maxBytes: 100, timeoutMs: 1000 }),
      MediaError,
    );
    await assert.rejects(client.download('data:nonsense', target, { maxBytes: 100, timeoutMs: 1000 }), /valid data: URI/);
  } finally {
    await client.close();
  }
});

test('every redirect hop is checked again: a redirect into a non-public address is refused', async () => {
  // 127.0.0.1 plays a public host here; 127.0.0.2 (the same loopback interface) a private one.
  const redirector = http.createServer((request, response) => {
    if (request.url === '/to-private') {
      return void response.writeHead(302, { location: `http://127.0.0.2:${(redirector.address() as AddressInfo).port}/secret` }).end();
    }
    response.end(request.url === '/secret' ? 'internal data' : 'public data');
  });
  await new Promise<void>((resolve) => redirector.listen(0, '0.0.0.0', resolve));
  const port = (redirector.address() as AddressInfo).port;
  const client = new SafeHttpClient({ allowPrivateNetworks: false, isPublic: (address) => address === '127.0.0.1' });
  const target = path.join(directory, 'hop');
  try {
    assert.equal((await client.download(`http://127.0.0.1:${port}/fine`, target, { maxBytes: 100, timeoutMs: 2000 })).bytes, 11);
    await assert.rejects(
      client.download(`http://127.0.0.1:${port}/to-private`, target, { maxBytes: 100, timeoutMs: 2000 }),
      AddressRefusedError,
    );
    await assert.rejects(client.download(`http://127.0.0.2:${port}/secret`, target, { maxBytes: 100, timeoutMs: 2000 }), AddressRefusedError);
  } finally {
    await client.close();
    redirector.closeAllConnections();
    await new Promise((resolve) => redirector.close(resolve));
  }
});
