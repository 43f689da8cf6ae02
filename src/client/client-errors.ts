import type { SegueTask } from './task-view.js';

/**
 * Every error Segue answers, as a class. `code` is the dialect's own: the Veo envelope's `code`
 * (401, 402, 404, 422, 429, 455, 500, …) or, for the universal dialect, the HTTP status.
 */
export class SegueError extends Error {
  override readonly name: string = 'SegueError';

  constructor(
    message: string,
    /** The Veo envelope code or the universal dialect's HTTP status. */
    readonly code: number,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }

  /** Whether the same request may succeed later: a create is sent again (same Idempotency-Key) when true. */
  get retryable(): boolean {
    return this.code >= 500 && this.code !== 501 && this.code !== 505;
  }
}

/** The API key is missing, wrong or revoked (401). */
export class AuthenticationError extends SegueError {
  override readonly name = 'AuthenticationError';
}

/** The key's balance does not cover the task (Veo 402, universal 403); nothing was held. */
export class InsufficientCreditsError extends SegueError {
  override readonly name = 'InsufficientCreditsError';
}

/** No such task for this key (404). */
export class NotFoundError extends SegueError {
  override readonly name = 'NotFoundError';
}

/** The request was refused as it is (Veo 422 or 400, universal 400): fix it before sending it again. */
export class ValidationError extends SegueError {
  override readonly name = 'ValidationError';
}

/** Too many requests, or no room for new tasks right now (429). */
export class RateLimitError extends SegueError {
  override readonly name = 'RateLimitError';

  constructor(
    message: string,
    code: number,
    /** From the `Retry-After` header, when Segue sent one. */
    readonly retryAfterSeconds: number | null,
  ) {
    super(message, code);
  }

  override get retryable(): boolean {
    return true;
  }
}

/** Maintenance or a switched-off feature (Veo 455 / 505, universal 503). */
export class ServiceUnavailableError extends SegueError {
  override readonly name = 'ServiceUnavailableError';

  /** Maintenance ends; a switched-off feature (Veo 505) stays off until an operator turns it on. */
  override get retryable(): boolean {
    return this.code !== 505;
  }
}

/** `waitFor` (or `download`) met a task that failed; `code` is the task's failure code (400, 500, 501). */
export class TaskFailedError extends SegueError {
  override readonly name = 'TaskFailedError';

  constructor(readonly task: SegueTask) {
    super(`task ${task.id} failed: ${task.error?.message || 'no reason given'}`, task.error?.code ?? 500);
  }

  override get retryable(): boolean {
    return false;
  }
}

/** Seconds from a `Retry-After` header (seconds or an HTTP date), or null. */
export function retryAfterSeconds(header: string | null): number | null {
  if (!header) return null;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  return Number.isFinite(seconds) ? Math.max(0, Math.ceil(seconds)) : null;
}

/** The error for a Veo envelope that is not `code: 200`. */
export function veoError(code: number, message: string, retryAfter: number | null): SegueError {
  if (code === 401) return new AuthenticationError(message, code);
  if (code === 402) return new InsufficientCreditsError(message, code);
  if (code === 404) return new NotFoundError(message, code);
  if (code === 400 || code === 422) return new ValidationError(message, code);
  if (code === 429) return new RateLimitError(message, code, retryAfter);
  if (code === 455 || code === 505) return new ServiceUnavailableError(message, code);
  return new SegueError(message, code);
}

/** The error for an HTTP status of the universal dialect. */
export function universalError(status: number, message: string, retryAfter: number | null): SegueError {
  if (status === 401) return new AuthenticationError(message, status);
  if (status === 403) return new InsufficientCreditsError(message, status);
  if (status === 404) return new NotFoundError(message, status);
  if (status === 400 || status === 413 || status === 422) return new ValidationError(message, status);
  if (status === 429) return new RateLimitError(message, status, retryAfter);
  if (status === 503) return new ServiceUnavailableError(message, status);
  return new SegueError(message, status);
}
