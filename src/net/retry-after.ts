const maxRetryAfterMs = 24 * 3600 * 1000;

/**
 * A peer's `Retry-After` (seconds or an HTTP date) in milliseconds from `now`, at most a day;
 * null when absent, unreadable or not in the future.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return null;
  const trimmed = text.trim();
  const milliseconds = /^\d+(\.\d+)?$/.test(trimmed) ? Math.ceil(Number(trimmed) * 1000) : Date.parse(text) - now;
  return Number.isFinite(milliseconds) && milliseconds > 0 ? Math.min(milliseconds, maxRetryAfterMs) : null;
}
