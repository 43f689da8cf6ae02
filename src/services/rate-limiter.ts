import type { RateLimit } from '../config/config.js';
import { RateLimitedError } from '../domain/errors.js';

/** An admitted request's slot; `release()` gives it back when the request did not go through after all. */
export interface Slot {
  release(): void;
}

/**
 * Sliding-window limits per key, kept in this process: at most `count` admissions in any
 * `windowMs`. A refusal says when the oldest admission leaves the window (for Retry-After).
 * With several API processes each enforces its own window.
 */
export class RateLimiter {
  private readonly admissions = new Map<string, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  tryAcquire(id: string, limit: RateLimit | 'off'): { slot: Slot } | { retryAfterMs: number } {
    if (limit === 'off') return { slot: { release() {} } };
    const now = this.now();
    if (this.admissions.size > 10_000) this.prune(now - limit.windowMs);
    const recent = (this.admissions.get(id) ?? []).filter((at) => at > now - limit.windowMs);
    if (recent.length >= limit.count) {
      this.admissions.set(id, recent);
      return { retryAfterMs: recent[0]! + limit.windowMs - now };
    }
    recent.push(now);
    this.admissions.set(id, recent);
    return {
      slot: {
        release: () => {
          const list = this.admissions.get(id);
          const index = list?.lastIndexOf(now) ?? -1;
          if (index >= 0) list!.splice(index, 1);
        },
      },
    };
  }

  /** Forgets keys with no admission since `before` (so unknown tokens cannot grow the map forever). */
  private prune(before: number): void {
    for (const [id, list] of this.admissions) {
      if ((list.at(-1) ?? 0) <= before) this.admissions.delete(id);
    }
  }
}

/** The looser limit on reads (record-info, fetch, credit), keyed by the presented token. */
export class ReadLimit {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly limit: RateLimit | 'off',
  ) {}

  check(token: string | undefined): void {
    if (this.limit === 'off' || !token) return;
    const admitted = this.limiter.tryAcquire(`read:${token}`, this.limit);
    if ('retryAfterMs' in admitted) {
      throw new RateLimitedError('Too many requests: the limit on reads was reached', Math.ceil(admitted.retryAfterMs / 1000));
    }
  }
}
