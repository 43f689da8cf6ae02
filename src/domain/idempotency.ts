/** How long an `Idempotency-Key` answers with the task its first request made. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
