/**
 * What the S3 store adds to the blob contract: no misbehaving S3 server can hang it or slip it
 * wrong bytes, and its presigned URLs work (against s3rver, a real S3-protocol server).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PresignedLinks } from '../src/blobs/result-links.js';
import { S3BlobStore } from '../src/blobs/s3-blob-store.js';
import { UrlSigner } from '../src/blobs/signed-urls.js';
import { type RawPeer, responseHead, startRawPeer } from './helpers/raw-peer.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { temporaryDirectory } from './helpers/test-segue.js';

const scratch = temporaryDirectory('segue-s3-store-');
let peer: RawPeer;
let s3: TestS3;

before(async () => {
  peer = await startRawPeer(() => undefined);
  s3 = await startTestS3();
});
after(async () => {
  await peer.close();
  await s3.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const storeAt = (endpoint: string, timeouts: { requestTimeoutMs?: number; transferTimeoutMs?: number } = {}) =>
  new S3BlobStore({ bucket: 'segue-test', endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, ...timeouts });

/** Fails unless every call settles (either way) within `limitMs`; answers how each settled, by name. */
async function settleWithin(limitMs: number, calls: Record<string, Promise<unknown>>): Promise<Record<string, string>> {
  const started = Date.now();
  const settled = await Promise.allSettled(Object.values(calls));
  assert.ok(Date.now() - started < limitMs, `settled after ${Date.now() - started} ms`);
  return Object.fromEntries(Object.keys(calls).map((name, index) => [name, settled[index]!.status]));
}

test('a server that never answers fails every call in bounded time', async () => {
  peer.behave(() => undefined);
  const store = storeAt(peer.url, { requestTimeoutMs: 300, transferTimeoutMs: 2_000 });
  try {
    const file = path.join(scratch, 'upload.mp4');
    fs.writeFileSync(file, Buffer.alloc(1000));
    const settled = await settleWithin(10_000, {
      stat: store.stat('tasks/t/video.mp4'),
      readJson: store.readJson('tasks/t/render.json'),
      putJson: store.putJson('tasks/t/render.json', {}),
      putFile: store.putFile('tasks/t/video.mp4', file),
      copyToFile: store.copyToFile('tasks/t/video.mp4', path.join(scratch, 'never.mp4')),
      openRead: store.openRead('tasks/t/video.mp4', { start: 0, end: 9 }),
      delete: store.delete('tasks/t/video.mp4'),
    });
    assert.ok(Object.values(settled).every((status) => status === 'rejected'), JSON.stringify(settled));
    assert.equal(fs.existsSync(path.join(scratch, 'never.mp4')), false);
  } finally {
    store.close();
    peer.dropConnections();
  }
});

test('a download that stalls mid-body fails in bounded time and leaves no file', async () => {
  peer.behave((socket) => socket.write(responseHead('200 OK', { 'content-type': 'video/mp4', 'content-length': 100_000 }) + 'x'.repeat(1000)));
  const store = storeAt(peer.url, { requestTimeoutMs: 300 });
  try {
    const destination = path.join(scratch, 'stalled.mp4');
    assert.deepEqual(await settleWithin(10_000, { copyToFile: store.copyToFile('tasks/t/video.mp4', destination) }), { copyToFile: 'rejected' });
    assert.equal(fs.existsSync(destination), false);
  } finally {
    store.close();
    peer.dropConnections();
  }
});

test('a server that answers another range than the one asked is refused', async () => {
  peer.behave((socket) => socket.end(responseHead('206 Partial Content', { 'content-type': 'video/mp4', 'content-length': 10, 'content-range': 'bytes 0-9/10' }) + '0123456789'));
  const store = storeAt(peer.url);
  try {
    await assert.rejects(store.openRead('tasks/t/video.mp4', { start: 0, end: 0 }), /answered bytes 0-0 of tasks\/t\/video.mp4 with bytes 0-9\/10/);
  } finally {
    store.close();
  }
});

test('presigned links fetch the object from the bucket, with Range, for the configured time', async () => {
  const store = storeAt(s3.endpoint);
  try {
    const file = path.join(scratch, 'presigned.mp4');
    fs.writeFileSync(file, Buffer.from('0123456789'.repeat(100)));
    await store.putFile('tasks/p/video.mp4', file);
    const now = Date.UTC(2030, 0, 1, 10, 25);
    const links = new PresignedLinks(store, new UrlSigner('s'.repeat(32), 'http://segue.test', 3600), 86_400, () => Date.now());
    const url = new URL(await links.urlFor('tasks/p/video.mp4'));
    assert.equal(url.origin, s3.endpoint);
    assert.equal(url.pathname, '/segue-test/tasks/p/video.mp4');
    assert.equal(url.searchParams.get('X-Amz-Expires'), '86400');
    const partial = await fetch(url, { headers: { range: 'bytes=10-19' } });
    assert.equal(partial.status, 206);
    assert.equal(await partial.text(), '0123456789');

    const fixed = new PresignedLinks(store, new UrlSigner('s'.repeat(32), 'http://segue.test', 3600), 86_400, () => now);
    const first = await fixed.urlFor('tasks/p/video.mp4');
    assert.match(first, /X-Amz-Date=20300101T100000Z/, 'signed as of the start of the hour');
    assert.equal(await new PresignedLinks(store, new UrlSigner('s'.repeat(32), 'http://segue.test', 3600), 86_400, () => now + 30 * 60_000).urlFor('tasks/p/video.mp4'), first, 'the same link all hour');
    assert.equal(fixed.keyOf(first), undefined, 'only Segue’s own signed links are recognised');
  } finally {
    store.close();
  }
});
