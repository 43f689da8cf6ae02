export type LedgerEntryKind = 'grant' | 'hold' | 'capture' | 'release' | 'adjustment';

export interface LedgerEntry {
  readonly kind: LedgerEntryKind;
  readonly amount: number;
  readonly taskId: string | null;
  readonly note: string | null;
  readonly createdAt: number;
}

/**
 * The append-only credit ledger of a key; the balance is the sum of its amounts. A hold is the
 * price taken when a task is accepted (negative); a release gives it back (positive); a capture
 * (zero) marks it spent. A task has at most one entry of each kind: the store refuses a second.
 */
export interface Ledger {
  append(entry: { apiKeyId: string; kind: LedgerEntryKind; amount: number; taskId?: string; note?: string }): Promise<void>;
  /**
   * Takes `price` from the balance only if it covers it, with the task's hold entry: one
   * conditional update, safe under concurrent writers. False (and nothing written) when it does not.
   */
  holdIfCovered(apiKeyId: string, taskId: string, price: number): Promise<boolean>;
  /** The running balance, kept with every entry. */
  balance(apiKeyId: string): Promise<number>;
  /** The sum of every entry: always equal to `balance` (an audit compares them). */
  ledgerSum(apiKeyId: string): Promise<number>;
  history(apiKeyId: string, limit: number): Promise<LedgerEntry[]>;
}
