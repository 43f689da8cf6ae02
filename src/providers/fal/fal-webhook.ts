import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { OutboundError, OutboundHttp } from '../../net/outbound-http.js';
import { type ProviderWebhook, WEBHOOK_TASK_PARAMETER, type WebhookDelivery } from '../../ports/video-provider.js';
import { jwksSchema, webhookBodySchema } from './fal-api-types.js';

export interface FalWebhookOptions {
  readonly jwksUrl: string;
  /** How long fetched keys are used before they are fetched again. */
  readonly jwksCacheMs: number;
  /** When set, deliveries signed for another fal account are refused. */
  readonly userId?: string;
  readonly now: () => number;
  /** Largest clock difference accepted, in seconds (fal: 300). */
  readonly windowSeconds?: number;
  readonly timeoutMs?: number;
}

/** Keys too recently fetched to fetch again when a signature does not match them (forgeries must not flood fal). */
const refetchAfterMs = 60_000;
const maxJwksBytes = 64 * 1024;
const taskIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * fal's webhooks (upstream-providers.md A.3): ED25519 over
 * `request_id \n user_id \n timestamp \n hex(sha256(body))`, signature in hex, against any key
 * of fal's JWKS (fetched bounded, cached), the timestamp within 300 s of Segue's clock. The
 * delivery id is fal's `request_id` (the queue's id, the same for every redelivery); the task is
 * the one Segue named in the webhook URL. A delivery is only a hint: the poll confirms.
 */
export class FalWebhookVerifier implements ProviderWebhook {
  private readonly http = new OutboundHttp({ keepAliveMs: 4000 });
  private cached: { keys: KeyObject[]; fetchedAt: number } | undefined;
  private fetching: Promise<KeyObject[]> | undefined;
  private lastAttemptAt: number | undefined;

  constructor(private readonly options: FalWebhookOptions) {}

  async verify(headers: Readonly<Record<string, string | string[] | undefined>>, rawBody: string, query: Readonly<Record<string, unknown>> = {}): Promise<WebhookDelivery | undefined> {
    const requestId = header(headers, 'x-fal-webhook-request-id');
    const userId = header(headers, 'x-fal-webhook-user-id');
    const timestamp = header(headers, 'x-fal-webhook-timestamp');
    const signatureHex = header(headers, 'x-fal-webhook-signature');
    if (!requestId || !userId || !timestamp || !signatureHex) return undefined;
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(this.options.now() / 1000 - Number(timestamp)) > (this.options.windowSeconds ?? 300)) return undefined;
    if (this.options.userId !== undefined && userId !== this.options.userId) return undefined;
    if (!/^[0-9a-fA-F]{128}$/.test(signatureHex)) return undefined;
    const message = Buffer.from(`${requestId}\n${userId}\n${timestamp}\n${createHash('sha256').update(rawBody, 'utf8').digest('hex')}`, 'utf8');
    const signature = Buffer.from(signatureHex, 'hex');
    if (!(await this.signedByFal(message, signature))) return undefined;
    const body = webhookBodySchema.safeParse(safeJson(rawBody));
    if (!body.success || body.data.request_id !== requestId) return undefined;
    const taskId = query[WEBHOOK_TASK_PARAMETER];
    return { deliveryId: requestId, taskId: typeof taskId === 'string' && taskIdPattern.test(taskId) ? taskId : undefined };
  }

  async close(): Promise<void> {
    this.http.close();
  }

  private async signedByFal(message: Buffer, signature: Buffer): Promise<boolean> {
    const matches = (keys: KeyObject[]) => keys.some((key) => verify(null, message, key, signature));
    if (matches(await this.keys(false))) return true;
    // fal may have rotated its keys: look again (at most once a minute).
    return matches(await this.keys(true));
  }

  /**
   * fal's keys, from the cache while it is fresh; fetched at most once a minute (forged deliveries
   * must not make Segue flood fal); none when the JWKS cannot be read (deliveries are then refused).
   */
  private async keys(refresh: boolean): Promise<KeyObject[]> {
    const now = this.options.now();
    if (!refresh && this.cached && now - this.cached.fetchedAt < this.options.jwksCacheMs) return this.cached.keys;
    if (this.fetching) return this.fetching;
    if (this.lastAttemptAt !== undefined && now - this.lastAttemptAt < refetchAfterMs) return this.cached?.keys ?? [];
    this.lastAttemptAt = now;
    this.fetching ??= this.fetchKeys().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  private async fetchKeys(): Promise<KeyObject[]> {
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    try {
      const response = await this.http.request({ url: new URL(this.options.jwksUrl), method: 'GET', headers: { accept: 'application/json' }, timeoutMs, stallTimeoutMs: timeoutMs });
      if (response.statusCode !== 200) {
        response.discard();
        return this.cached?.keys ?? [];
      }
      const parsed = jwksSchema.safeParse(safeJson(await response.text(maxJwksBytes)));
      if (!parsed.success) return this.cached?.keys ?? [];
      const keys = parsed.data.keys.flatMap((jwk) => {
        if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x) return [];
        try {
          return [createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' })];
        } catch {
          return [];
        }
      });
      this.cached = { keys, fetchedAt: this.options.now() };
      return keys;
    } catch (error) {
      if (error instanceof OutboundError) return this.cached?.keys ?? [];
      throw error;
    }
  }
}

function header(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && value.length > 0 && value.length <= 512 ? value : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
