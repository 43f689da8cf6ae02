/**
 * Domain errors thrown by services. Each dialect maps them to its own codes in one place
 * (see src/http/veo/veo-errors.ts); nothing below the HTTP layer knows about status codes.
 */
export class DomainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A request field is missing or out of range; `field` names it. */
export class ValidationError extends DomainError {
  constructor(message: string, readonly field?: string) {
    super(message);
  }
}

/** The thing asked for does not exist, or belongs to another API key (the two are indistinguishable). */
export class NotFoundError extends DomainError {}

/** The thing exists but its state forbids the operation (e.g. extending a task that has not succeeded). */
export class InvalidStateError extends DomainError {}

/** The API key is missing, unknown or revoked. */
export class UnauthorizedError extends DomainError {}

/** The balance does not cover the price. */
export class InsufficientCreditsError extends DomainError {}

/** A media file could not be fetched or read (bad URL, refused address, too large, not a video…). */
export class MediaError extends DomainError {}

/** The prompt was refused by the content policy; `message` is the dialect's documented text. */
export class ContentPolicyError extends DomainError {}

/** Too many requests; try again after `retryAfterSeconds`. */
export class RateLimitedError extends DomainError {
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message);
  }
}

/** The service is in maintenance: creation is closed, reads keep working. */
export class MaintenanceError extends DomainError {}

/** An operation (e.g. extension, 4K) is switched off by the operator. */
export class FeatureDisabledError extends DomainError {}

/** An `Idempotency-Key` was used before, within its window, for a different request. */
export class IdempotencyConflictError extends InvalidStateError {}
