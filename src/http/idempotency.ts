import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { IdempotencyRequest } from '../ports/idempotency-store.js';

/**
 * The headers schema of every create route: an optional `Idempotency-Key` of 1–255 printable
 * ASCII characters (Stripe's and the IETF draft's shape); every other header passes untouched.
 */
export const idempotencyHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e][\x20-\x7e]{0,254}$/, 'The Idempotency-Key header must be 1 to 255 printable ASCII characters')
    .optional()
    .meta({ description: 'Retries with the same key and body within 24 h answer the first answer again and hold nothing new; the same key with another body is refused.' }),
});

/**
 * The `Idempotency-Key` of a create (checked by the route's `idempotencyHeaders`), with the
 * fingerprint of what was asked under it: method, route and the validated body and query, key
 * order ignored. Every dialect's create routes read it here; the services decide what a repeat gets.
 */
export function idempotencyOf(request: FastifyRequest): IdempotencyRequest | undefined {
  const header = request.headers['idempotency-key'];
  if (typeof header !== 'string') return undefined;
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
