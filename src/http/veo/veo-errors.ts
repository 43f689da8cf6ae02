import { DomainError, type ErrorCode, RateLimitedError } from '../../domain/errors.js';

export interface VeoEnvelope {
  readonly code: number;
  readonly msg: string;
  readonly data: unknown;
}

/** The dialect's documented sentences for a refused prompt (the universal dialect uses the same). */
export function contentPolicyText(error: DomainError): string {
  return error.details['policy'] === 'not_english'
    ? 'Only English prompts are supported at this time.'
    : 'Your prompt was flagged by Website as violating content policies.';
}

/** A Veo answer for an error: the envelope code, and the text (the error's own message when absent). */
type VeoAnswer = readonly [code: number, text?: string | ((error: DomainError) => string)];

export const UNAUTHORIZED_MESSAGE = 'You do not have access permissions';
const INTERNAL_MESSAGE = 'Internal Error, Please try again later.';

/**
 * The Veo dialect's code and text for every domain error code: the one place where Segue's
 * errors become the dialect's words (the documented sentences live here and nowhere below).
 */
const answers: Readonly<Record<ErrorCode, VeoAnswer>> = {
  validation: [422],
  not_found: [404, 'record is null'],
  source_not_found: [404, 'Original video or task does not exist'],
  source_not_ready: [422],
  upgraded_cannot_extend: [422, 'Videos generated after 1080P generation cannot be extended.'],
  cannot_extend: [422],
  upgrade_not_allowed: [422],
  upgrade_unavailable: [422, (error) => `The ${error.details['target'] ?? ''} version of this video is unavailable.`],
  invalid_state: [422],
  unauthorized: [401, UNAUTHORIZED_MESSAGE],
  insufficient_credits: [402, (error) => `Insufficient credits: this task costs ${error.details['price']} credits`],
  media: [400],
  content_policy: [400, (error) => contentPolicyText(error)],
  rate_limited: [429],
  disk_full: [429],
  maintenance: [455, 'The service is under maintenance. Please try again later.'],
  unavailable: [500, INTERNAL_MESSAGE],
  feature_disabled: [505, (error) => `This feature (${String(error.details['operation'] ?? '').replace('_', ' ')}) is currently disabled.`],
  idempotency_conflict: [422],
};

/**
 * Where a route answers some codes its own way (the dialect answers an unknown record with
 * 422 "record is null" on its polling and upgrade routes): declared as the route's
 * `config.veoAnswers`, read here and only here.
 */
export type VeoRouteAnswers = Partial<Record<ErrorCode, VeoAnswer>>;

/** The one place where errors become Veo-dialect envelopes. */
export function veoErrorEnvelope(error: unknown, routeAnswers: VeoRouteAnswers = {}): VeoEnvelope & { unexpected: boolean; retryAfterSeconds?: number } {
  const envelope = (code: number, msg: string) => ({ code, msg, data: null, unexpected: false });
  if (error instanceof DomainError) {
    const [code, text] = routeAnswers[error.code] ?? answers[error.code];
    const msg = text === undefined ? error.message : typeof text === 'string' ? text : text(error);
    const retryAfterSeconds = error instanceof RateLimitedError ? error.retryAfterSeconds : undefined;
    return { ...envelope(code, msg), ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) };
  }
  const fastifyError = error as { code?: string; statusCode?: number };
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return envelope(422, 'The request body is too large');
  if (typeof fastifyError.code === 'string' && fastifyError.code.startsWith('FST_ERR_CTP')) {
    return envelope(422, 'The request body must be a JSON object');
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return envelope(422, 'The request could not be read');
  }
  return { code: 500, msg: INTERNAL_MESSAGE, data: null, unexpected: true };
}
