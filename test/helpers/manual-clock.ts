import type { Clock } from '../../src/ports/clock.js';

/**
 * A clock a test moves forward itself instead of waiting for time to pass: it follows real time
 * (so short schedules still run) plus whatever the test has advanced it by.
 */
export class ManualClock implements Clock {
  private offset = 0;

  now(): number {
    return Date.now() + this.offset;
  }

  advance(ms: number): void {
    this.offset += ms;
  }
}
