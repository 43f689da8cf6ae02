import type { GateChange, GateState, ProviderGateStore } from '../../ports/provider-gate-store.js';

/** How an entry's circuit breaker stands, for `/readyz` and `/metrics`. */
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

/** How long a trial request holds the half-open breaker: a trial whose worker died lets the next one through after this. */
const TRIAL_HOLD_MS = 60_000;
/** How long a request waits while another holds the breaker's trial. */
const TRIAL_WAIT_MS = 1_000;

/**
 * What stands between Segue and one provider entry, shared by every process through the
 * database: a token bucket for creates, and a circuit breaker that stops sending to an entry
 * after consecutive retryable failures, lets one trial through after the cool-down, and closes
 * again on a success. (Concurrency is counted in the database too; see `TaskStore.claimSlot`.)
 */
export class ProviderGate {
  constructor(
    readonly entry: string,
    readonly limits: GateLimits,
    private readonly store: ProviderGateStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Zero when a request may go now (taking a token, or the breaker's trial); otherwise how long to wait. */
  async waitBeforeRequest(): Promise<number> {
    if (this.limits.requestsPerMinute === undefined) {
      // Nothing to take from a closed breaker without a rate: no write, no lock.
      const state = await this.store.find(this.entry);
      if (!state || state.failures < this.limits.breakerThreshold) return 0;
    }
    return this.store.change(this.entry, (current) => admit(current ?? this.initial(), this.limits, this.now()));
  }

  /** Whether new tasks should go elsewhere now (the breaker is open, or its trial is out). */
  async isOpen(): Promise<boolean> {
    const state = await this.store.find(this.entry);
    return state !== undefined && isOpenAt(state, this.limits, this.now());
  }

  async recordSuccess(): Promise<void> {
    const state = await this.store.find(this.entry);
    if (!state || (state.failures === 0 && state.trialUntil === null)) return;
    await this.store.change(this.entry, (current) => ({
      state: current ? { ...current, failures: 0, trialUntil: null } : this.initial(),
      answer: undefined,
    }));
  }

  async recordFailure(message: string): Promise<void> {
    const now = this.now();
    await this.store.change(this.entry, (current) => {
      const failures = (current ?? this.initial()).failures + 1;
      const tripped = failures >= this.limits.breakerThreshold;
      return {
        state: {
          ...(current ?? this.initial()),
          failures,
          trialUntil: null,
          lastFailure: message,
          ...(tripped ? { openUntil: now + this.limits.breakerCooldownSeconds * 1000 } : {}),
        },
        answer: undefined,
      };
    });
  }

  /** The report of this gate from its stored state (undefined: nothing recorded yet). */
  reportOf(state: GateState | undefined): GateReport {
    return reportAt(state ?? this.initial(), this.limits, this.now());
  }

  private initial(): GateState {
    return { tokens: capacity(this.limits), refilledAt: this.now(), failures: 0, openUntil: 0, trialUntil: null, lastFailure: null };
  }
}

/** A minute's allowance may go at once, but never less than one request. */
function capacity(limits: GateLimits): number {
  return Math.max(1, limits.requestsPerMinute ?? 1);
}

function tripped(state: GateState, limits: GateLimits): boolean {
  return state.failures >= limits.breakerThreshold;
}

function trialOut(state: GateState, now: number): boolean {
  return state.trialUntil !== null && now < state.trialUntil;
}

function isOpenAt(state: GateState, limits: GateLimits, now: number): boolean {
  return tripped(state, limits) && (now < state.openUntil || trialOut(state, now));
}

/** The breaker first (a wait while open, the one trial after the cool-down), then a token. */
function admit(state: GateState, limits: GateLimits, now: number): GateChange<number> {
  let next = state;
  if (tripped(state, limits)) {
    if (now < state.openUntil) return { state, answer: state.openUntil - now };
    if (trialOut(state, now)) return { state, answer: TRIAL_WAIT_MS };
    next = { ...next, trialUntil: now + TRIAL_HOLD_MS };
  }
  const perMinute = limits.requestsPerMinute;
  if (perMinute === undefined) return { state: next, answer: 0 };
  const tokens = Math.min(capacity(limits), state.tokens + ((now - state.refilledAt) * perMinute) / 60_000);
  if (tokens >= 1) return { state: { ...next, tokens: tokens - 1, refilledAt: now }, answer: 0 };
  // No token: the trial (if this was to be one) is not taken either.
  return { state: { ...state, tokens, refilledAt: now }, answer: Math.ceil(((1 - tokens) * 60_000) / perMinute) };
}

function reportAt(state: GateState, limits: GateLimits, now: number): GateReport {
  const open = tripped(state, limits);
  return {
    breaker: !open ? 'closed' : now < state.openUntil ? 'open' : 'half_open',
    consecutiveFailures: state.failures,
    maxConcurrent: limits.maxConcurrent,
    ...(open ? { openUntil: new Date(state.openUntil).toISOString() } : {}),
    ...(state.lastFailure ? { lastFailure: state.lastFailure } : {}),
  };
}
