import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Segue's own download links: `/files/<key>?expires=<unix s>&signature=<HMAC(key, expires)>`.
 * Expiry is rounded up to the hour, so that repeated polls of one task hand out the same URL
 * (players and CDNs can cache it) while every link still stops working on time.
 */
export class UrlSigner {
  constructor(
    private readonly secret: string,
    private readonly publicUrl: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  urlFor(key: string): string {
    const expires = this.expiresAt();
    const path = `/files/${key}`;
    return `${this.publicUrl}${path}?expires=${expires}&signature=${this.sign(path, expires)}`;
  }

  /** When a link made now stops working (unix seconds). */
  expiresAt(): number {
    return Math.ceil((this.now() / 1000 + this.ttlSeconds) / 3600) * 3600;
  }

  /** Whether a request for `/files/<key>` carries a valid, unexpired signature. */
  verify(path: string, expires: string | undefined, signature: string | undefined): boolean {
    if (!expires || !signature || !/^\d{1,12}$/.test(expires)) return false;
    const expiresAt = Number(expires);
    if (expiresAt * 1000 < this.now()) return false;
    const expected = Buffer.from(this.sign(path, expiresAt));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  /** The blob key behind one of Segue's own valid links, or undefined for any other URL. */
  keyOf(url: string): string | undefined {
    if (!url.startsWith(`${this.publicUrl}/files/`)) return undefined;
    const parsed = new URL(url.slice(this.publicUrl.length), 'http://segue.invalid');
    const path = decodeURIComponent(parsed.pathname);
    const key = path.slice('/files/'.length);
    if (key.includes('..') || !this.verify(path, parsed.searchParams.get('expires') ?? undefined, parsed.searchParams.get('signature') ?? undefined)) return undefined;
    return key;
  }

  private readonly signatures = new Map<string, string>();

  /** Signatures are memoised (bounded): polls of one task sign the same path and hour again and again. */
  private sign(path: string, expires: number): string {
    const message = `${path}\n${expires}`;
    let signature = this.signatures.get(message);
    if (signature === undefined) {
      // 128 bits of HMAC-SHA256 are plenty for a link signature and keep every URL shorter.
      signature = createHmac('sha256', this.secret).update(message).digest().subarray(0, 16).toString('base64url');
      if (this.signatures.size >= 10_000) this.signatures.delete(this.signatures.keys().next().value!);
      this.signatures.set(message, signature);
    }
    return signature;
  }
}
