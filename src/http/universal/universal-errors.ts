import { DomainError, type ErrorCode, RateLimitedError } from '../../domain/errors.js';
import { UnreadableBodyError } from '../json-bodies.js';
import { contentPolicyText } from '../veo/veo-errors.js';

export const UNIVERSAL_UNAUTHORIZED =
  'This request requires a valid API key. Create one with `npx segue keys create` on the Segue server.';

/** A universal answer for an error: the HTTP status, and the text (the error's own message when absent). */
type UniversalAnswer = readonly [status: number, text?: string | ((error: DomainError) => string)];

const bodyValidation = (error: DomainError) =>
  error instanceof UnreadableBodyError ? 'Body validation error! Expected the body to be a JSON object'
  : /^(Body|Query) validation error!/.test(error.message) ? error.message
  : `Body validation error! ${error.message}`;

/** The universal dialect's status and text for every domain error code, in one place. */
const answers: Readonly<Record<ErrorCode, UniversalAnswer>> = {
  validation: [400, bodyValidation],
  not_found: [404, 'Generation not found'],
  source_not_found: [404, 'Generation not found'],
  source_not_ready: [400],
  upgraded_cannot_extend: [400],
  cannot_extend: [400],
  upgrade_not_allowed: [400],
  upgrade_unavailable: [400],
  invalid_state: [400],
  unauthorized: [401, UNIVERSAL_UNAUTHORIZED],
  insufficient_credits: [403, "You've run out of credits. Please top up your balance."],
  media: [400],
  content_policy: [400, (error) => contentPolicyText(error)],
  rate_limited: [429, 'Too Many Requests'],
  disk_full: [503],
  maintenance: [503, 'The service is under maintenance. Please try again later.'],
  unavailable: [503, 'Service unavailable'],
  feature_disabled: [503, (error) => `This feature (${String(error.details['operation'] ?? '').replace('_', ' ')}) is currently disabled.`],
  idempotency_conflict: [400],
};

/** The one place where errors become the universal dialect's HTTP statuses and messages. */
export function universalError(error: unknown): { statusCode: number; message: string; unexpected: boolean; retryAfterSeconds?: number } {
  const answer = (statusCode: number, message: string) => ({ statusCode, message, unexpected: false });
  if (error instanceof DomainError) {
    const [status, text] = answers[error.code];
    const message = text === undefined ? error.message : typeof text === 'string' ? text : text(error);
    const retryAfterSeconds = error instanceof RateLimitedError ? error.retryAfterSeconds : undefined;
    return { ...answer(status, message), ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) };
  }
  const fastifyError = error as { code?: string; statusCode?: number };
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return answer(413, 'The request body is too large');
  if (typeof fastifyError.code === 'string' && fastifyError.code.startsWith('FST_ERR_CTP')) {
    return answer(400, 'Body validation error! Expected the body to be a JSON object');
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return answer(fastifyError.statusCode, 'Bad request');
  }
  return { statusCode: 500, message: 'Internal server error', unexpected: true };
}
