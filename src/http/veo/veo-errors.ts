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

export interface VeoEnvelope {
  readonly code: number;
  readonly msg: string;
  readonly data: unknown;
}

export const UNAUTHORIZED_MESSAGE = 'You do not have access permissions';
const INTERNAL_MESSAGE = 'Internal Error, Please try again later.';

/** The one place where domain errors become Veo-dialect envelope codes. */
export function veoErrorEnvelope(error: unknown): VeoEnvelope & { unexpected: boolean; retryAfterSeconds?: number } {
  const envelope = (code: number, msg: string) => ({ code, msg, data: null, unexpected: false });
  if (error instanceof UnauthorizedError) return envelope(401, UNAUTHORIZED_MESSAGE);
  if (error instanceof RateLimitedError) return { ...envelope(429, error.message), retryAfterSeconds: error.retryAfterSeconds };
  if (error instanceof MaintenanceError) return envelope(455, error.message);
  if (error instanceof FeatureDisabledError) return envelope(505, error.message);
  if (error instanceof ContentPolicyError) return envelope(400, error.message);
  if (error instanceof ValidationError) return envelope(422, error.message);
  if (error instanceof InvalidStateError) return envelope(422, error.message);
  if (error instanceof NotFoundError) return envelope(404, error.message);
  if (error instanceof InsufficientCreditsError) return envelope(402, error.message);
  if (error instanceof MediaError) return envelope(400, error.message);
  if (error instanceof DomainError) return envelope(400, error.message);
  const fastifyError = error as { code?: string; statusCode?: number };
  if (typeof fastifyError.code === 'string' && fastifyError.code.startsWith('FST_ERR_CTP')) {
    if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return envelope(422, 'The request body is too large');
    return envelope(422, 'The request body must be a JSON object');
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return envelope(422, 'The request could not be read');
  }
  return { code: 500, msg: INTERNAL_MESSAGE, data: null, unexpected: true };
}
