/**
 * The secret an upstream takes: the headers that carry it, every text of it that must never reach
 * a log, a task record or a client, and (for tokens that expire) how to renew it after a 401.
 */
export interface UpstreamCredential {
  /** The headers that carry the secret on one call (a token source may fetch a fresh token). */
  headers(signal: AbortSignal): Record<string, string> | Promise<Record<string, string>>;
  /** Every secret text this credential holds, to be cut out of messages. */
  secrets(): Iterable<string>;
  /** Forgets a secret the upstream refused with 401; the call is then made once more. Absent: no second try. */
  readonly renew?: () => void;
}

/**
 * A fixed key in one header: `keyInHeader('x-goog-api-key', key)` (Gemini),
 * `keyInHeader('authorization', key, 'Bearer')` (Replicate, the dialects), `'Key'` (fal).
 */
export function keyInHeader(header: string, key: string, scheme?: string): UpstreamCredential {
  const value = scheme ? `${scheme} ${key}` : key;
  return { headers: () => ({ [header]: value }), secrets: () => [key] };
}

/** No secret at all (a box on the operator's own network). */
export const noCredential: UpstreamCredential = { headers: () => ({}), secrets: () => [] };
