/** How an entry's circuit breaker stands, for `/readyz`. */
export interface GateReport {
  readonly breaker: 'closed' | 'open' | 'half_open';
  readonly consecutiveFailures: number;
  readonly maxConcurrent: number;
  readonly openUntil?: string;
  readonly lastFailure?: string;
}

export interface GateLimits {
  readonly maxConcurrent: number;
  readonly requestsPerMinute?: number | undefined;
  readonly breakerThreshold: number;
  readonly breakerCooldownSeconds: number;
}

/**
 * What stands between Segue and one provider entry inside this process: a token bucket for
 * creates, and a circuit breaker that stops sending to an entry after consecutive retryable
 * failures, lets one trial through after the cool-down, and closes again on a success.
 * (Concurrency is counted in the database, across processes; see `TaskStore.claimSlot`.)
 */
export class ProviderGate {
  private failures = 0;
  private openUntil = 0;
  private trialInFlight = false;
  private lastFailure: string | undefined;
  private tokens: number;
  private refilledAt: number;

  constructor(
    readonly limits: GateLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = this.capacity();
    this.refilledAt = now();
  }

  /** Zero when a request may go now; otherwise how long to wait before asking again. */
  waitBeforeRequest(): number {
    const now = this.now();
    if (this.failures >= this.limits.breakerThreshold) {
      if (now < this.openUntil) return this.openUntil - now;
      if (this.trialInFlight) return 1_000;
      this.trialInFlight = true;
    }
    const perMinute = this.limits.requestsPerMinute;
    if (perMinute === undefined) return 0;
    this.tokens = Math.min(this.capacity(), this.tokens + ((now - this.refilledAt) * perMinute) / 60_000);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    this.trialInFlight = false;
    return Math.ceil(((1 - this.tokens) * 60_000) / perMinute);
  }

  /** Whether new tasks should go elsewhere now (the breaker is open and not yet due a trial). */
  isOpen(): boolean {
    return this.failures >= this.limits.breakerThreshold && (this.now() < this.openUntil || this.trialInFlight);
  }

  recordSuccess(): void {
    this.failures = 0;
    this.trialInFlight = false;
  }

  recordFailure(message: string): void {
    this.failures++;
    this.trialInFlight = false;
    this.lastFailure = message;
    if (this.failures >= this.limits.breakerThreshold) this.openUntil = this.now() + this.limits.breakerCooldownSeconds * 1000;
  }

  report(): GateReport {
    const open = this.failures >= this.limits.breakerThreshold;
    return {
      breaker: !open ? 'closed' : this.now() < this.openUntil ? 'open' : 'half_open',
      consecutiveFailures: this.failures,
      maxConcurrent: this.limits.maxConcurrent,
      ...(open ? { openUntil: new Date(this.openUntil).toISOString() } : {}),
      ...(this.lastFailure ? { lastFailure: this.lastFailure } : {}),
    };
  }

  private capacity(): number {
    // A minute's allowance may go at once, but never less than one request.
    return Math.max(1, this.limits.requestsPerMinute ?? 1);
  }
}
