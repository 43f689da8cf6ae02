import type { Readable } from 'node:stream';

/** What a store knows of one blob without reading it. */
export interface BlobInfo {
  readonly size: number;
  readonly contentType: string;
  /** A strong validator of these exact bytes, quoted as in an HTTP `ETag`. */
  readonly etag: string;
  readonly lastModified: Date;
}

/** Bytes `start` to `end` of a blob, both included (as HTTP counts them); `end` < size. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** A blob opened for reading: its facts, and a stream of the bytes asked for (all of them, or one range). */
export interface OpenedBlob extends BlobInfo {
  readonly body: Readable;
}

/**
 * Where media lives. Keys are relative paths such as `tasks/<id>/video.mp4`. Media work happens
 * on local files in scratch space: a blob comes in with `copyToFile` and goes out with
 * `putFile`, so any store (a directory, an S3 bucket) serves any process on any machine.
 * A missing blob is never an error: the reads answer `undefined` (or `false`).
 */
export interface BlobStore {
  /** Moves a finished local file into the store under `key`, atomically; the local file is gone afterwards. */
  putFile(key: string, sourcePath: string): Promise<void>;
  putJson(key: string, value: unknown): Promise<void>;
  readJson(key: string): Promise<unknown | undefined>;
  exists(key: string): Promise<boolean>;
  stat(key: string): Promise<BlobInfo | undefined>;
  /** Puts the blob's bytes in a new local file at `destination`; false when there is no such blob. */
  copyToFile(key: string, destination: string): Promise<boolean>;
  /** Opens the blob (or one satisfiable range of it) for streaming; the caller consumes or destroys `body`. */
  openRead(key: string, range?: ByteRange): Promise<OpenedBlob | undefined>;
  /** Removes a blob (and nothing else); a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Up to `limit` keys under `prefix` last written before `before` (for sweeps of what nothing references). */
  listOlder(prefix: string, before: Date, limit: number): Promise<string[]>;
}
