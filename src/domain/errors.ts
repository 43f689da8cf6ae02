/**
 * Domain errors thrown by services, each with a code. Each dialect maps codes to its own status
 * and text in one place (src/http/<dialect>/<dialect>-errors.ts); below the HTTP layer nothing
 * knows a dialect's words or status codes, and messages are Segue's own plain English.
 */
export type ErrorCode =
  | 'validation'
  | 'not_found'
  /** The task an extension or upgrade names does not exist (or is another key's). */
  | 'source_not_found'
  /** The source task has not succeeded (yet). */
  | 'source_not_ready'
  /** The source went through a 1080p upgrade: it cannot be extended. */
  | 'upgraded_cannot_extend'
  /** The model (or every entry on its route) cannot extend this video. */
  | 'cannot_extend'
  /** An upgrade of an upgrade, or a 4K upgrade extended. */
  | 'upgrade_not_allowed'
  /** No entry can make this upgrade. */
  | 'upgrade_unavailable'
  | 'invalid_state'
  | 'unauthorized'
  | 'insufficient_credits'
  | 'media'
  | 'content_policy'
  | 'rate_limited'
  /** The machine is short of disk space for new media work. */
  | 'disk_full'
  | 'maintenance'
  /** What Segue needs to answer (its database) cannot be reached, or stayed busy, now: nothing was done; try again shortly. */
  | 'unavailable'
  | 'feature_disabled'
  | 'idempotency_conflict';

export class DomainError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode,
    /** Facts a dialect may put in its own text (an operation's name, a model, a price). */
    readonly details: Readonly<Record<string, string | number>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A request field is missing or out of range; `field` names it. */
export class ValidationError extends DomainError {
  constructor(message: string, readonly field?: string) {
    super(message, 'validation');
  }
}

/** The thing asked for does not exist, or belongs to another API key (the two are indistinguishable). */
export class NotFoundError extends DomainError {
  constructor(message: string, code: 'not_found' | 'source_not_found' = 'not_found') {
    super(message, code);
  }
}

/** The thing exists but its state forbids the operation (e.g. extending a task that has not succeeded). */
export class InvalidStateError extends DomainError {
  constructor(
    message: string,
    code: 'invalid_state' | 'source_not_ready' | 'upgraded_cannot_extend' | 'cannot_extend' | 'upgrade_not_allowed' | 'upgrade_unavailable' | 'idempotency_conflict' = 'invalid_state',
    details: Readonly<Record<string, string | number>> = {},
  ) {
    super(message, code, details);
  }
}

/** The API key is missing, unknown or revoked. */
export class UnauthorizedError extends DomainError {
  constructor(message: string) {
    super(message, 'unauthorized');
  }
}

/** The balance does not cover the price. */
export class InsufficientCreditsError extends DomainError {
  constructor(message: string, price: number) {
    super(message, 'insufficient_credits', { price });
  }
}

/** A media file could not be fetched or read (bad URL, refused address, too large, not a video…). */
export class MediaError extends DomainError {
  constructor(message: string) {
    super(message, 'media');
  }
}

/** The prompt was refused by the content policy: a blocked word, or a language this server does not take. */
export class ContentPolicyError extends DomainError {
  constructor(message: string, policy: 'blocked' | 'not_english') {
    super(message, 'content_policy', { policy });
  }
}

/** Too many requests, no room for new work, or the database away now; try again after `retryAfterSeconds`. */
export class RateLimitedError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code: 'rate_limited' | 'disk_full' | 'unavailable' = 'rate_limited',
  ) {
    super(message, code);
  }
}

/** The service is in maintenance: creation is closed, reads keep working. */
export class MaintenanceError extends DomainError {
  constructor(message: string) {
    super(message, 'maintenance');
  }
}

/** An operation (e.g. extension, 4K) is switched off by the operator. */
export class FeatureDisabledError extends DomainError {
  constructor(message: string, operation: string) {
    super(message, 'feature_disabled', { operation });
  }
}

/** An `Idempotency-Key` was used before, within its window, for a different request. */
export class IdempotencyConflictError extends InvalidStateError {
  constructor(message: string) {
    super(message, 'idempotency_conflict');
  }
}
