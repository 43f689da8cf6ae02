/** A limit on admissions: at most `count` in any `windowMs`. */
export interface WindowLimit {
  readonly count: number;
  readonly windowMs: number;
}

/** An admission, or how long to wait before the oldest one in the window leaves it. */
export type WindowAnswer = { readonly admission: string } | { readonly retryAfterMs: number };

/**
 * Sliding-window rate limits shared by every process on the database: each admission is kept
 * until it leaves its window, and counting and admitting under one key never interleave, in any
 * process, so racing processes together never admit more than the limit.
 */
export interface RateWindowStore {
  /** Admits one more under `key` at `at` if fewer than `limit.count` were admitted in the window ending then. */
  admit(key: string, limit: WindowLimit, at: number): Promise<WindowAnswer>;
  /** Takes an admission back (the request it admitted did not go through after all). */
  withdraw(admission: string): Promise<void>;
  /** Forgets admissions whose window ended by `at`; answers how many. */
  sweep(at: number): Promise<number>;
}
