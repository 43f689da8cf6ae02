import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

/**
 * The fake fal's webhook signing (upstream-providers.md A.3): an ED25519 key pair made at start,
 * its public half published as a JWKS, and deliveries signed over
 * `request_id \n user_id \n timestamp \n hex(sha256(body))` with the signature in hex.
 */
export class FakeFalSigner {
  private readonly privateKey: KeyObject;
  private readonly publicJwk: Record<string, unknown>;

  constructor(private readonly userId: string) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    this.privateKey = privateKey;
    this.publicJwk = { ...publicKey.export({ format: 'jwk' }), kid: 'fake-fal-1', use: 'sig' };
  }

  /** What `/.well-known/jwks.json` answers. */
  jwks(): { keys: Array<Record<string, unknown>> } {
    return { keys: [this.publicJwk] };
  }

  sign(requestId: string, userId: string, timestamp: number, body: string): string {
    const message = `${requestId}\n${userId}\n${timestamp}\n${createHash('sha256').update(body).digest('hex')}`;
    return sign(null, Buffer.from(message), this.privateKey).toString('hex');
  }

  /** POSTs one webhook `times` times (fal delivers at least once); answers each delivery's HTTP status (0: unreachable). */
  async deliver(url: string, requestId: string, payload: string, times: number, now: () => number): Promise<number[]> {
    const statuses: number[] = [];
    for (let delivery = 0; delivery < times; delivery++) {
      const timestamp = Math.floor(now() / 1000);
      const status = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-fal-webhook-request-id': requestId,
          'x-fal-webhook-user-id': this.userId,
          'x-fal-webhook-timestamp': String(timestamp),
          'x-fal-webhook-signature': this.sign(requestId, this.userId, timestamp, payload),
        },
        body: payload,
        signal: AbortSignal.timeout(15_000),
      }).then(async (response) => {
        await response.body?.cancel();
        return response.status;
      }, () => 0);
      statuses.push(status);
    }
    return statuses;
  }
}
