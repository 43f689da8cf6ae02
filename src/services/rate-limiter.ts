import type { RateLimit } from '../config/config.js';
import { RateLimitedError } from '../domain/errors.js';
import type { RateWindowStore } from '../ports/rate-window-store.js';

/** An admitted request's place in its window; `release()` gives it back when the request did not go through after all. */
export interface Slot {
  release(): Promise<void>;
}

/**
 * Per-key limits on new tasks: at most `count` admissions in any `windowMs`, counted in the
 * database, so that every API process shares one window per key (two processes behind a load
 * balancer admit what one would). A refusal says when the oldest admission leaves the window.
 */
export class RateLimiter {
  constructor(
    private readonly windows: RateWindowStore,
    private readonly now: () => number = Date.now,
  ) {}

  async tryAcquire(id: string, limit: RateLimit | 'off'): Promise<{ slot: Slot } | { retryAfterMs: number }> {
    if (limit === 'off') return { slot: { release: async () => {} } };
    const answer = await this.windows.admit(`create:${id}`, limit, this.now());
    if ('retryAfterMs' in answer) return answer;
    return { slot: { release: () => this.windows.withdraw(answer.admission) } };
  }
}

/**
 * The looser limit on reads (record-info, fetch, credit), keyed by the presented token and kept in
 * this process's memory: it runs before the key is looked up, so that a flood of polls or of bad
 * tokens is turned away without touching the database, which a shared window would have to write
 * on every read. With N API processes a client may read up to N times the limit.
 */
export class ReadLimit {
  private readonly admissions = new Map<string, number[]>();

  constructor(
    private readonly limit: RateLimit | 'off',
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether reads are limited at all (SEGUE_READ_RATE_LIMIT is not `off`). */
  get limited(): boolean {
    return this.limit !== 'off';
  }

  check(token: string | undefined): void {
    if (this.limit === 'off' || !token) return;
    const now = this.now();
    const { count, windowMs } = this.limit;
    if (this.admissions.size > 10_000) this.prune(now - windowMs);
    const recent = (this.admissions.get(token) ?? []).filter((at) => at > now - windowMs);
    this.admissions.set(token, recent);
    if (recent.length >= count) {
      throw new RateLimitedError('Too many requests: the limit on reads was reached', Math.ceil((recent[0]! + windowMs - now) / 1000));
    }
    recent.push(now);
  }

  /** Forgets tokens with no read since `before` (so unknown tokens cannot grow the map forever). */
  private prune(before: number): void {
    for (const [token, list] of this.admissions) {
      if ((list.at(-1) ?? 0) <= before) this.admissions.delete(token);
    }
  }
}
