import {
  ContentPolicyError,
  DomainError,
  FeatureDisabledError,
  MaintenanceError,
  RateLimitedError,
  InsufficientCreditsError,
  InvalidStateError,
  MediaError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../../domain/errors.js';
import { UnreadableBodyError } from '../json-bodies.js';

export const UNIVERSAL_UNAUTHORIZED =
  'This request requires a valid API key. Create one with `npx segue keys create` on the Segue server.';

/** The one place where domain errors become the universal dialect's HTTP statuses and messages. */
export function universalError(error: unknown): { statusCode: number; message: string; unexpected: boolean; retryAfterSeconds?: number } {
  const answer = (statusCode: number, message: string) => ({ statusCode, message, unexpected: false });
  const fastifyError = error as { code?: string; statusCode?: number };
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return answer(413, 'The request body is too large');
  if (error instanceof UnreadableBodyError || (typeof fastifyError.code === 'string' && fastifyError.code.startsWith('FST_ERR_CTP'))) {
    return answer(400, 'Body validation error! Expected the body to be a JSON object');
  }
  if (error instanceof UnauthorizedError) return answer(401, UNIVERSAL_UNAUTHORIZED);
  if (error instanceof RateLimitedError) return { ...answer(429, 'Too Many Requests'), retryAfterSeconds: error.retryAfterSeconds };
  if (error instanceof MaintenanceError || error instanceof FeatureDisabledError) return answer(503, error.message);
  if (error instanceof ContentPolicyError) return answer(400, error.message);
  if (error instanceof ValidationError) {
    return answer(400, /^(Body|Query) validation error!/.test(error.message) ? error.message : `Body validation error! ${error.message}`);
  }
  if (error instanceof InvalidStateError || error instanceof MediaError) return answer(400, error.message);
  if (error instanceof NotFoundError) return answer(404, 'Generation not found');
  if (error instanceof InsufficientCreditsError) return answer(403, "You've run out of credits. Please top up your balance.");
  if (error instanceof DomainError) return answer(400, error.message);
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return answer(fastifyError.statusCode, 'Bad request');
  }
  return { statusCode: 500, message: 'Internal server error', unexpected: true };
}
