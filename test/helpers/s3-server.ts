import fs from 'node:fs';
import type { EventEmitter } from 'node:events';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { temporaryDirectory } from './test-segue.js';

/** s3rver's one account: it checks every request's signature against these keys. */
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** A real S3-protocol server (s3rver) on 127.0.0.1, on a fresh directory with one empty bucket. */
export interface TestS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** How each object was last written: `Put` (one request) or `Post` (a completed multipart upload). */
  readonly writes: ReadonlyMap<string, 'Put' | 'Post'>;
  /** The variables that point a Segue at this bucket (the keys go in `process.env`, for the SDK's default chain). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Calls `listener` with each key as it is written (synchronously, from the server's event: before
   * the writer gets its answer); returns a function that stops the calls.
   */
  onObjectCreated(listener: (key: string) => void): () => void;
  /** Every key in the bucket, sorted. */
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

export async function startTestS3(bucket = 'segue-test'): Promise<TestS3> {
  const directory = temporaryDirectory('segue-s3rver-');
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  const writes = new Map<string, 'Put' | 'Post'>();
  const listeners = new Set<(key: string) => void>();
  (server as unknown as EventEmitter).on('event', (event: { Records: Array<{ eventName: string; s3: { object: { key: string } } }> }) => {
    for (const record of event.Records) {
      const kind = /^ObjectCreated:(Put|Post)$/.exec(record.eventName)?.[1] as 'Put' | 'Post' | undefined;
      if (!kind) continue;
      writes.set(record.s3.object.key, kind);
      for (const listener of listeners) listener(record.s3.object.key);
    }
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  return {
    endpoint,
    bucket,
    credentials,
    writes,
    environment: { SEGUE_BLOB_STORE: 's3', SEGUE_S3_BUCKET: bucket, SEGUE_S3_ENDPOINT: endpoint, SEGUE_S3_FORCE_PATH_STYLE: 'true' },
    onObjectCreated(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async keys() {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
        keys.push(...(listed.Contents ?? []).map((object) => object.Key!));
        token = listed.IsTruncated ? listed.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    async close() {
      client.destroy();
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
