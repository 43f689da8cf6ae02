import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BlobInfo, BlobStore, ByteRange, OpenedBlob } from '../ports/blob-store.js';
import { contentTypeOf, isSafeBlobKey } from './blob-keys.js';
import type { Presigner } from './result-links.js';

/** Where the bucket is and how to talk to it. */
export interface S3BlobStoreOptions {
  readonly bucket: string;
  /** Any S3-compatible service; AWS itself when unset. */
  readonly endpoint?: string | undefined;
  readonly region: string;
  readonly forcePathStyle: boolean;
  /** Keys handed in (tests); without them the AWS SDK's default chain finds them. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Files larger than this go up in parts of this size (S3's smallest part is 5 MiB). */
  readonly partSizeBytes?: number;
  /** The longest one request may wait for its answer, and a body may stay silent. */
  readonly requestTimeoutMs?: number;
  /** The longest a whole file may take to go up or come down. */
  readonly transferTimeoutMs?: number;
}

const DEFAULT_PART_SIZE_BYTES = 8 * 1024 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const DEFAULT_TRANSFER_TIMEOUT_MS = 30 * 60_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** Every download a player holds open keeps a socket: more than the SDK's default 50. */
const MAX_SOCKETS = 256;

/**
 * Blobs as objects in an S3-compatible bucket (AWS, MinIO, R2, Ceph…). Every request is bounded
 * in time (connect, answer, silence), and whole transfers by a deadline, so a stalled server
 * fails the work at hand and never hangs Segue. Large files go up in parts.
 */
export class S3BlobStore implements BlobStore, Presigner {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(private readonly options: S3BlobStoreOptions) {
    const timeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const agent = { keepAlive: true, maxSockets: MAX_SOCKETS };
    this.bucket = options.bucket;
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // Newer SDKs add CRC checksums that several S3-compatible servers refuse or do not send.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: CONNECT_TIMEOUT_MS,
        requestTimeout: timeout,
        throwOnRequestTimeout: true,
        socketTimeout: timeout,
        httpAgent: agent,
        httpsAgent: agent,
      },
    });
  }

  async putFile(key: string, sourcePath: string): Promise<void> {
    await this.withDeadline(async (abortController) => {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: checked(key), Body: createReadStream(sourcePath), ContentType: contentTypeOf(key) },
        partSize: this.options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES,
        queueSize: 4,
        abortController,
      });
      await upload.done();
    });
    await fs.rm(sourcePath, { force: true });
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: checked(key), Body: JSON.stringify(value), ContentType: 'application/json' }));
  }

  async readJson(key: string): Promise<unknown | undefined> {
    const object = await absentIfMissing(this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: checked(key) })));
    return object ? JSON.parse(await object.Body!.transformToString()) : undefined;
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    const head = await absentIfMissing(this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: checked(key) })));
    return head && infoOf(key, head, head.ContentLength ?? 0);
  }

  async copyToFile(key: string, destination: string): Promise<boolean> {
    return this.withDeadline(async ({ signal }) => {
      const object = await absentIfMissing(this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: checked(key) }), { abortSignal: signal }));
      if (!object) return false;
      try {
        await pipeline(object.Body as Readable, createWriteStream(destination, { flags: 'wx' }), { signal });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') await fs.rm(destination, { force: true });
        throw error;
      }
      return true;
    });
  }

  async openRead(key: string, range?: ByteRange): Promise<OpenedBlob | undefined> {
    const object = await absentIfMissing(
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: checked(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) })),
    );
    if (!object) return undefined;
    const body = object.Body as Readable;
    if (!range) return { ...infoOf(key, object, object.ContentLength ?? 0), body };
    // The reply's length is promised to the client before the first byte: a server that answers another range fails here.
    const answered = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(object.ContentRange ?? '');
    if (!answered || Number(answered[1]) !== range.start || Number(answered[2]) !== range.end) {
      body.destroy();
      throw new Error(`the S3 server answered bytes ${range.start}-${range.end} of ${key} with ${object.ContentRange ?? 'the whole object'}`);
    }
    return { ...infoOf(key, object, Number(answered[3])), body };
  }

  async listOlder(prefix: string, before: Date, limit: number): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const object of page.Contents ?? []) {
        if (keys.length < limit && object.Key && object.LastModified && object.LastModified < before) keys.push(object.Key);
      }
      token = page.IsTruncated && keys.length < limit ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: checked(key) }));
  }

  async presignedGetUrl(key: string, signedAt: Date, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: checked(key) }), { signingDate: signedAt, expiresIn: expiresInSeconds });
  }

  /** Closes the client's connections. */
  close(): void {
    this.client.destroy();
  }

  /** Runs a whole transfer under the transfer deadline: past it, the transfer is aborted. */
  private async withDeadline<T>(work: (controller: AbortController) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`the S3 transfer took longer than ${this.options.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS} ms`)),
      this.options.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS,
    );
    try {
      return await work(controller);
    } finally {
      clearTimeout(timer);
    }
  }
}

function checked(key: string): string {
  if (!isSafeBlobKey(key)) throw new Error(`unsafe blob key: ${key}`);
  return key;
}

interface ObjectFacts {
  readonly ContentType?: string | undefined;
  readonly ETag?: string | undefined;
  readonly LastModified?: Date | undefined;
}

function infoOf(key: string, object: ObjectFacts, size: number): BlobInfo {
  const lastModified = object.LastModified ?? new Date(0);
  const etag = object.ETag ?? `"${lastModified.getTime().toString(16)}-${size.toString(16)}"`;
  return { size, contentType: object.ContentType ?? contentTypeOf(key), etag, lastModified };
}

/** The answer, or undefined when the key has no object (GET says NoSuchKey, HEAD a bodiless NotFound). */
async function absentIfMissing<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
    throw error;
  }
}
