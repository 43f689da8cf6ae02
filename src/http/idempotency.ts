import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ValidationError } from '../domain/errors.js';
import type { IdempotencyRequest } from '../ports/idempotency-store.js';

/** What an `Idempotency-Key` may hold: 1–255 printable ASCII characters (Stripe's and the IETF draft's shape). */
const keyPattern = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;

/**
 * The `Idempotency-Key` of a create, with the fingerprint of what was asked under it (method,
 * route and body, key order ignored). Every dialect's create routes read it here; the services
 * decide what a repeat gets.
 */
export function idempotencyOf(request: FastifyRequest): IdempotencyRequest | undefined {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !keyPattern.test(header)) {
    throw new ValidationError('The Idempotency-Key header must be 1 to 255 printable ASCII characters', 'Idempotency-Key');
  }
  const route = request.routeOptions.url ?? request.url.split('?')[0];
  const fingerprint = createHash('sha256')
    .update(`${request.method} ${route}\n${canonicalJson(request.query)}\n${canonicalJson(request.body)}`)
    .digest('hex');
  return { key: header, fingerprint };
}

/** JSON with object keys sorted, so the same body in another key order is the same request. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}
