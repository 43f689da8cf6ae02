import type { FastifyBaseLogger } from 'fastify';
import { RateLimitedError } from '../domain/errors.js';
import { StorageUnavailableError } from '../ports/storage.js';

/** How soon a client is asked to try again when the database was away. */
const RETRY_AFTER_SECONDS = 2;

/**
 * The database unreachable, or still locked by another process after its wait, is the server's
 * trouble of the moment, not a fault in the request: every error handler passes its error through
 * here first, so each dialect answers it as its own "unavailable, try again" with Retry-After
 * (nothing was done, or — when the commit's fate is unknown — what was done is idempotent), and
 * the operator sees one warning instead of an "unexpected error".
 */
export function answerableError(error: unknown, log: FastifyBaseLogger): unknown {
  if (!(error instanceof StorageUnavailableError)) return error;
  log.warn({ err: error }, 'the database is unavailable; the request was refused with a retry');
  return new RateLimitedError('The service is unavailable for a moment. Please try again shortly.', RETRY_AFTER_SECONDS, 'unavailable');
}
