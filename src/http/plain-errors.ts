import type { FastifyInstance, FastifyReply } from 'fastify';
import { answerableError } from './storage-unavailable.js';
import { DomainError, InvalidStateError, NotFoundError, RateLimitedError, UnauthorizedError } from '../domain/errors.js';

/**
 * Segue's own JSON APIs (admin, dashboard) answer errors as `{error}` with real statuses: 400
 * invalid, 401 (worded by `unauthorized`), 404 unknown, 409 not in that state, 429 too many
 * reads (with Retry-After), 503 database away for a moment (with Retry-After), 500 unexpected.
 */
export function plainJsonErrors(app: FastifyInstance, unauthorized: string): void {
  app.setErrorHandler((thrown, request, reply: FastifyReply) => {
    const error = answerableError(thrown, request.log) as Error;
    const given = (error as { statusCode?: number }).statusCode;
    const statusCode =
      error instanceof UnauthorizedError ? 401
      : error instanceof NotFoundError ? 404
      : error instanceof InvalidStateError ? 409
      : error instanceof RateLimitedError ? (error.code === 'unavailable' ? 503 : 429)
      : error instanceof DomainError ? 400
      : given && given < 500 ? given
      : 500;
    if (error instanceof RateLimitedError && error.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, error.retryAfterSeconds)));
    if (statusCode === 500) request.log.error({ err: error }, 'unexpected error');
    const message = statusCode === 500 ? 'Internal server error' : statusCode === 401 ? unauthorized : (error as Error).message;
    return reply.code(statusCode).send({ error: message });
  });
}
