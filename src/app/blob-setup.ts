import path from 'node:path';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { PresignedLinks, type ResultLinks, SignedLinks } from '../blobs/result-links.js';
import type { UrlSigner } from '../blobs/signed-urls.js';
import type { Config } from '../config/config.js';
import type { BlobStore } from '../ports/blob-store.js';

/** The media store and the kind of result links, as built for one process. */
export interface BlobSetup {
  readonly blobs: BlobStore;
  readonly links: ResultLinks;
  close(): void;
}

/**
 * The one place where SEGUE_BLOB_STORE and SEGUE_BLOB_LINKS are decided (the configuration has
 * already refused presigned links without S3). The AWS SDK is loaded only when S3 is used.
 */
export async function setUpBlobs(config: Config, signer: UrlSigner, now: () => number): Promise<BlobSetup> {
  if (!config.s3) return { blobs: new FsBlobStore(path.join(config.dataDir, 'blobs')), links: new SignedLinks(signer), close: () => {} };
  const { S3BlobStore } = await import('../blobs/s3-blob-store.js');
  const store = new S3BlobStore(config.s3);
  const links = config.blobLinks === 'presigned' ? new PresignedLinks(store, signer, config.urlTtlSeconds, now) : new SignedLinks(signer);
  return { blobs: store, links, close: () => store.close() };
}
