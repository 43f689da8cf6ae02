import type { UrlSigner } from './signed-urls.js';

/**
 * The links to stored media that clients (and upstreams fetching a source) are handed. Every
 * link is made here: presenters, callbacks and the engine ask `urlFor`, and the composition
 * root picks the kind once (SEGUE_BLOB_LINKS).
 */
export interface ResultLinks {
  /** A link to the blob under `key` that works until the configured expiry. */
  urlFor(key: string): Promise<string>;
  /** The key behind one of Segue's own valid signed links, or undefined for any other URL. */
  keyOf(url: string): string | undefined;
}

/** Segue's own signed links (`/files/…`), streamed from any store with Range. */
export class SignedLinks implements ResultLinks {
  constructor(private readonly signer: UrlSigner) {}

  async urlFor(key: string): Promise<string> {
    return this.signer.urlFor(key);
  }

  keyOf(url: string): string | undefined {
    return this.signer.keyOf(url);
  }
}
