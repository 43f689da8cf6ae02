import type { UrlSigner } from './signed-urls.js';

/**
 * The links to stored media that clients (and upstreams fetching a source) are handed. Every
 * link is made here: presenters, callbacks and the engine ask `urlFor`, and the composition
 * root picks the kind once (SEGUE_BLOB_LINKS).
 */
export interface ResultLinks {
  /** A link to the blob under `key` that works until the configured expiry. */
  urlFor(key: string): Promise<string>;
  /** When a link `urlFor` makes now stops working (unix seconds). */
  expiresAt(): number;
  /** The key behind one of Segue's own valid signed links, or undefined for any other URL. */
  keyOf(url: string): string | undefined;
}

/** A store that can hand out presigned GET URLs of its own (S3). */
export interface Presigner {
  presignedGetUrl(key: string, signedAt: Date, expiresInSeconds: number): Promise<string>;
}

/** Segue's own signed links (`/files/…`), streamed from any store with Range. */
export class SignedLinks implements ResultLinks {
  constructor(private readonly signer: UrlSigner) {}

  async urlFor(key: string): Promise<string> {
    return this.signer.urlFor(key);
  }

  expiresAt(): number {
    return this.signer.expiresAt();
  }

  keyOf(url: string): string | undefined {
    return this.signer.keyOf(url);
  }
}

/**
 * The store's presigned GET URLs: clients fetch from the bucket, not through Segue. Signed as of
 * the start of the hour, so that repeated polls of one task hand out the same URL (as Segue's own
 * links do); each lasts `ttlSeconds` from that hour. Segue's own signed links, handed out before
 * a switch, are still recognised.
 */
export class PresignedLinks implements ResultLinks {
  constructor(
    private readonly presigner: Presigner,
    private readonly signer: UrlSigner,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  urlFor(key: string): Promise<string> {
    return this.presigner.presignedGetUrl(key, new Date(this.hourStart()), this.ttlSeconds);
  }

  expiresAt(): number {
    return this.hourStart() / 1000 + this.ttlSeconds;
  }

  private hourStart(): number {
    return Math.floor(this.now() / 3_600_000) * 3_600_000;
  }

  keyOf(url: string): string | undefined {
    return this.signer.keyOf(url);
  }
}
