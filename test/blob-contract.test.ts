/**
 * The blob contract: what every media store guarantees, checked on each one in BLOB_STORES
 * (`s3` against a real S3-protocol server, s3rver, started here on 127.0.0.1).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { FsBlobStore } from '../src/blobs/fs-blob-store.js';
import { S3BlobStore } from '../src/blobs/s3-blob-store.js';
import type { BlobStore } from '../src/ports/blob-store.js';
import { startTestS3 } from './helpers/s3-server.js';
import { temporaryDirectory } from './helpers/test-segue.js';

/** S3's smallest part: the large upload below goes up in three of them. */
const PART_SIZE_BYTES = 5 * 1024 * 1024;

/** One store under test, opened fresh for its suite. */
interface OpenedStore {
  readonly store: BlobStore;
  /** Whether the store wrote `key` in parts (stores without parts answer undefined). */
  wentUpInParts?(key: string): boolean;
  close(): Promise<void>;
}

const BLOB_STORES: ReadonlyArray<{ readonly name: string; open(): Promise<OpenedStore> }> = [
  {
    name: 'fs',
    async open() {
      const directory = temporaryDirectory('segue-blobs-');
      return { store: new FsBlobStore(path.join(directory, 'blobs')), close: async () => fs.rmSync(directory, { recursive: true, force: true }) };
    },
  },
  {
    name: 's3',
    async open() {
      const s3 = await startTestS3();
      const store = new S3BlobStore({ bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3.credentials, partSizeBytes: PART_SIZE_BYTES });
      return {
        store,
        wentUpInParts: (key) => s3.writes.get(key) === 'Post',
        close: async () => {
          store.close();
          await s3.close();
        },
      };
    },
  },
];

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

for (const { name, open } of BLOB_STORES) {
  describe(`blob contract: ${name}`, () => {
    let opened: OpenedStore;
    let store: BlobStore;
    const scratch = temporaryDirectory('segue-blob-scratch-');
    /** A new local file with these bytes, as a render or an ingest leaves it in scratch space. */
    const localFile = (label: string, bytes: Buffer) => {
      const file = path.join(scratch, `${label}-${randomBytes(4).toString('hex')}`);
      fs.writeFileSync(file, bytes);
      return file;
    };

    before(async () => {
      opened = await open();
      store = opened.store;
    });
    after(async () => {
      await opened.close();
      fs.rmSync(scratch, { recursive: true, force: true });
    });

    test('JSON goes in and comes out; a missing key reads as undefined', async () => {
      await store.putJson('tasks/t1/render.json', { status: 'succeeded', n: 1 });
      assert.deepEqual(await store.readJson('tasks/t1/render.json'), { status: 'succeeded', n: 1 });
      assert.equal(await store.exists('tasks/t1/render.json'), true);
      assert.equal((await store.stat('tasks/t1/render.json'))?.contentType, 'application/json');
      assert.equal(await store.readJson('tasks/none/render.json'), undefined);
      assert.equal(await store.exists('tasks/none/render.json'), false);
      assert.equal(await store.stat('tasks/none/render.json'), undefined);
    });

    test('a file is moved in with its content type, and copied out to a new local file', async () => {
      const video = randomBytes(70_000);
      const source = localFile('video', video);
      await store.putFile('tasks/t2/video.mp4', source);
      assert.equal(fs.existsSync(source), false, 'the local file is gone once stored');
      await store.putFile('tasks/t2/poster.jpg', localFile('poster', Buffer.from('ffd8ffe0', 'hex')));
      const info = await store.stat('tasks/t2/video.mp4');
      assert.equal(info?.size, video.length);
      assert.equal(info?.contentType, 'video/mp4');
      assert.match(info?.etag ?? '', /^"[^"]+"$/, 'a quoted, strong ETag');
      assert.ok(info!.lastModified.getTime() > Date.now() - 3600_000);
      assert.equal((await store.stat('tasks/t2/poster.jpg'))?.contentType, 'image/jpeg');

      const copy = path.join(scratch, 'copy.mp4');
      assert.equal(await store.copyToFile('tasks/t2/video.mp4', copy), true);
      assert.ok(fs.readFileSync(copy).equals(video));
      await assert.rejects(store.copyToFile('tasks/t2/video.mp4', copy), 'an existing file is never overwritten');
      assert.ok(fs.readFileSync(copy).equals(video));

      const nowhere = path.join(scratch, 'missing.mp4');
      assert.equal(await store.copyToFile('tasks/none/video.mp4', nowhere), false);
      assert.equal(fs.existsSync(nowhere), false, 'nothing is left behind for a missing blob');
    });

    test('reads stream the whole blob or one range of it; a missing blob opens as undefined', async () => {
      const bytes = randomBytes(10_000);
      await store.putFile('tasks/t3/video.mp4', localFile('ranged', bytes));
      const whole = await store.openRead('tasks/t3/video.mp4');
      assert.equal(whole?.size, bytes.length);
      assert.equal(whole?.contentType, 'video/mp4');
      assert.ok((await bytesOf(whole!.body)).equals(bytes));
      // Not bytes=0-0: s3rver reads an end of 0 as "to the end" and sends everything (the S3 store refuses such an answer).
      for (const range of [{ start: 0, end: 1 }, { start: 100, end: 199 }, { start: 9_999, end: 9_999 }, { start: 5_000, end: 9_999 }]) {
        const part = await store.openRead('tasks/t3/video.mp4', range);
        assert.equal(part?.size, bytes.length, 'the size is the whole blob, whatever the range');
        assert.ok((await bytesOf(part!.body)).equals(bytes.subarray(range.start, range.end + 1)), `bytes ${range.start}-${range.end}`);
      }
      assert.equal(await store.openRead('tasks/none/video.mp4'), undefined);
      assert.equal(await store.openRead('tasks/none/video.mp4', { start: 0, end: 9 }), undefined);
    });

    test('a blob replaced whole gets a new ETag', async () => {
      await store.putJson('tasks/t4/render.json', { n: 1 });
      const first = await store.stat('tasks/t4/render.json');
      await store.putJson('tasks/t4/render.json', { n: 2 });
      const second = await store.stat('tasks/t4/render.json');
      assert.notEqual(second?.etag, first?.etag);
      assert.deepEqual(await store.readJson('tasks/t4/render.json'), { n: 2 });
    });

    test('delete removes one blob; a missing one is no error', async () => {
      await store.putJson('tasks/t5/render.json', {});
      await store.putJson('tasks/t5/other.json', {});
      await store.delete('tasks/t5/render.json');
      await store.delete('tasks/t5/render.json');
      await store.delete('tasks/none/video.mp4');
      assert.equal(await store.exists('tasks/t5/render.json'), false);
      assert.equal(await store.openRead('tasks/t5/render.json'), undefined);
      assert.equal(await store.exists('tasks/t5/other.json'), true);
    });

    test('a large file goes in (in parts where the store has them) and comes out intact', async () => {
      const large = randomBytes(PART_SIZE_BYTES * 2 + 123_456);
      await store.putFile('tasks/t6/video.mp4', localFile('large', large));
      assert.equal((await store.stat('tasks/t6/video.mp4'))?.size, large.length);
      if (opened.wentUpInParts) assert.equal(opened.wentUpInParts('tasks/t6/video.mp4'), true, 'a multipart upload');
      const copy = path.join(scratch, 'large-copy.mp4');
      assert.equal(await store.copyToFile('tasks/t6/video.mp4', copy), true);
      assert.equal(sha256(fs.readFileSync(copy)), sha256(large));
      const tail = await store.openRead('tasks/t6/video.mp4', { start: large.length - 1000, end: large.length - 1 });
      assert.ok((await bytesOf(tail!.body)).equals(large.subarray(large.length - 1000)));
    });

    test('keys that are not plain relative paths are refused', async () => {
      for (const key of ['../segue.db', '/etc/passwd', 'tasks/../../x', 'tasks/./x', '', 'tasks/x y']) {
        await assert.rejects(store.putJson(key, {}), /unsafe blob key/, key);
        await assert.rejects(store.stat(key), /unsafe blob key/, key);
      }
    });
  });
}
