/** A create request's `Idempotency-Key`, with the fingerprint of what was asked under it. */
export interface IdempotencyRequest {
  readonly key: string;
  /** A hash of the operation and its body: the same key with another fingerprint is a conflict. */
  readonly fingerprint: string;
}

/** What the store remembers of a key: the task the first request made. */
export interface IdempotencyRecord {
  readonly fingerprint: string;
  readonly taskId: string;
}

/**
 * Idempotency keys of creates, per API key. A key is fresh for a window (24 h); a stale one is
 * as good as absent and may be taken again. The database decides races: of two concurrent
 * claims of one key, exactly one succeeds.
 */
export interface IdempotencyStore {
  /** The fresh record of this key, if any (`freshSince`: the oldest creation time still fresh). */
  find(apiKeyId: string, key: string, freshSince: number): Promise<IdempotencyRecord | undefined>;
  /** Takes the key for this task; false when a fresh record holds it already. Call inside the creating transaction. */
  claim(apiKeyId: string, request: IdempotencyRequest, taskId: string, at: number, freshSince: number): Promise<boolean>;
  /** Forgets records older than `freshSince`; answers how many. */
  sweep(freshSince: number): Promise<number>;
}
