import type { Clock } from '../../src/ports/clock.js';

/** A clock a test moves forward itself, instead of waiting for time to pass. */
export class ManualClock implements Clock {
  constructor(private current: number = Date.now()) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
