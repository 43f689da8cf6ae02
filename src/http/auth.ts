import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../domain/errors.js';
import type { ApiKeyRecord } from '../ports/key-store.js';
import type { KeyService } from '../services/key-service.js';

/** The Bearer token of a request, or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Resolves the request's API key or throws UnauthorizedError (mapped by each dialect). */
export async function requireApiKey(keys: KeyService, request: FastifyRequest): Promise<ApiKeyRecord> {
  const token = bearerToken(request);
  const key = token ? await keys.authenticate(token) : undefined;
  if (!key) throw new UnauthorizedError('missing or invalid API key');
  return key;
}
