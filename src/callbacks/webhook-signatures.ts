import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signing and verifying Segue's callbacks. Two schemes:
 * - Standard Webhooks: `webhook-id`, `webhook-timestamp` (unix s) and
 *   `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed by the base64
 *   part of a `whsec_` secret; several space-separated signatures during a secret rotation.
 * - The Veo dialect's optional one: `X-Webhook-Timestamp` (unix s) and
 *   `X-Webhook-Signature: base64(HMAC-SHA256(key, taskId + "." + timestamp))`; the body is not signed.
 * This module has no Segue dependencies, so receivers can import it as is.
 */

/** The default replay window of both schemes: 5 minutes either way. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/** `v1,<signature>` of one secret for one attempt. */
export function standardWebhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  const digest = createHmac('sha256', secretBytes(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${digest}`;
}

/** The Veo dialect's signature of a callback. */
export function veoWebhookSignature(hmacKey: string, taskId: string, timestamp: number): string {
  return createHmac('sha256', hmacKey).update(`${taskId}.${timestamp}`).digest('base64');
}

function equalText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

type HeaderBag = Record<string, string | string[] | undefined> | Headers;

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const value = bag[name] ?? bag[name.toLowerCase()] ?? Object.entries(bag).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
  return Array.isArray(value) ? value[0] : value;
}

function timestampFresh(raw: string | undefined, nowSeconds: number, tolerance: number): number | undefined {
  if (!raw || !/^\d{1,12}$/.test(raw)) return undefined;
  const timestamp = Number(raw);
  return Math.abs(nowSeconds - timestamp) <= tolerance ? timestamp : undefined;
}

export interface VerifyOptions {
  /** The raw request headers (a Node headers object or a fetch Headers). */
  readonly headers: HeaderBag;
  /** The raw body exactly as received (verify before parsing JSON). */
  readonly rawBody: string;
  /** The key's `whsec_…` secret: checks the Standard Webhooks headers. */
  readonly webhookSecret?: string;
  /** The key's Veo HMAC key: checks X-Webhook-Timestamp / X-Webhook-Signature. */
  readonly veoHmacKey?: string;
  readonly toleranceSeconds?: number;
  /** Unix seconds; defaults to now. */
  readonly nowSeconds?: number;
}

/**
 * Verifies a Standard Webhooks message (`webhook-id`, `webhook-timestamp`, `webhook-signature`)
 * with one `whsec_` secret: Segue's own callbacks, and the upstreams that sign the same way.
 * False for a missing, stale (over 5 minutes by default) or wrong signature.
 */
export function verifyStandardWebhook(options: {
  readonly headers: VerifyOptions['headers'];
  readonly rawBody: string;
  readonly secret: string;
  readonly toleranceSeconds?: number;
  readonly nowSeconds?: number;
}): boolean {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const id = header(options.headers, 'webhook-id');
  const timestamp = timestampFresh(header(options.headers, 'webhook-timestamp'), now, options.toleranceSeconds ?? TIMESTAMP_TOLERANCE_SECONDS);
  const signatures = header(options.headers, 'webhook-signature');
  if (!id || timestamp === undefined || !signatures) return false;
  const expected = standardWebhookSignature(options.secret, id, timestamp, options.rawBody);
  return signatures.split(' ').some((candidate) => equalText(candidate, expected));
}

/**
 * Verifies a Segue callback with whichever secrets the receiver holds (the Standard Webhooks
 * secret, the Veo dialect's HMAC key); every given scheme must pass.
 */
export function verifySegueCallback(options: VerifyOptions): boolean {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? TIMESTAMP_TOLERANCE_SECONDS;
  if (!options.webhookSecret && !options.veoHmacKey) return false;
  if (options.webhookSecret) {
    const standard = { headers: options.headers, rawBody: options.rawBody, secret: options.webhookSecret, toleranceSeconds: tolerance, nowSeconds: now };
    if (!verifyStandardWebhook(standard)) return false;
  }
  if (options.veoHmacKey) {
    const timestamp = timestampFresh(header(options.headers, 'x-webhook-timestamp'), now, tolerance);
    const signature = header(options.headers, 'x-webhook-signature');
    let taskId: unknown;
    try {
      taskId = (JSON.parse(options.rawBody) as { data?: { taskId?: unknown } }).data?.taskId;
    } catch {
      return false;
    }
    if (timestamp === undefined || !signature || typeof taskId !== 'string') return false;
    if (!equalText(signature, veoWebhookSignature(options.veoHmacKey, taskId, timestamp))) return false;
  }
  return true;
}
