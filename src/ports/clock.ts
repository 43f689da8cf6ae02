/**
 * Where Segue reads the time for what depends on it (schedules, ages, expiries, windows): the
 * system's clock in production, a clock a test advances instead of waiting. Durations that are
 * only measured (latencies, render seconds) use the system clock.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
