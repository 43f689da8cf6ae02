/**
 * A provider entry's gate as stored: its request tokens (a token bucket) and its circuit breaker.
 * Times are epoch milliseconds of Segue's clock.
 */
export interface GateState {
  readonly tokens: number;
  readonly refilledAt: number;
  /** Consecutive retryable failures of creates; a success sets it back to 0. */
  readonly failures: number;
  /** While the breaker is open: when it lets a trial through. */
  readonly openUntil: number;
  /** While a trial request is out: until when it holds the trial (a trial whose worker died expires). */
  readonly trialUntil: number | null;
  readonly lastFailure: string | null;
}

/** What a change of a gate writes, and what it answers its caller. */
export interface GateChange<T> {
  readonly state: GateState;
  readonly answer: T;
}

/**
 * One gate per provider entry, shared by every process on the database (not one per process):
 * a change reads, decides and writes as one step that no other process interleaves.
 */
export interface ProviderGateStore {
  /** The entry's gate, or undefined if nothing was ever recorded for it. */
  find(entry: string): Promise<GateState | undefined>;
  /** Every entry's gate that was ever recorded, by entry name. */
  all(): Promise<ReadonlyMap<string, GateState>>;
  /**
   * Reads the entry's gate, hands it to `decide` and writes the state it returns (nothing when it
   * returns the same object). `decide` may run again (a transaction retried): keep it pure.
   */
  change<T>(entry: string, decide: (current: GateState | undefined) => GateChange<T>): Promise<T>;
}
