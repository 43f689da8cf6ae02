/** An API key as stored: only the hash of the key itself is kept. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  /** The first characters of the key, to tell keys apart in listings. */
  readonly prefix: string;
  readonly webhookSecret: string;
  /** After a rotation, the old secret keeps signing (beside the new one) until it expires. */
  readonly previousWebhookSecret: string | null;
  readonly previousWebhookSecretExpiresAt: number | null;
  /** When set, callbacks also carry the Veo dialect's X-Webhook-Timestamp / X-Webhook-Signature. */
  readonly veoHmacKey: string | null;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

export interface NewApiKey {
  readonly id: string;
  readonly name: string;
  readonly keyHash: string;
  readonly prefix: string;
  readonly webhookSecret: string;
  readonly createdAt: number;
}

export interface KeyStore {
  insert(key: NewApiKey): Promise<void>;
  findActiveByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  findById(id: string): Promise<ApiKeyRecord | undefined>;
  count(): Promise<number>;
  /** Makes `secret` the signing secret; the current one stays valid until `previousValidUntil`. */
  rotateWebhookSecret(id: string, secret: string, previousValidUntil: number): Promise<void>;
  setVeoHmacKey(id: string, hmacKey: string | null): Promise<void>;
}

export type LedgerEntryKind = 'grant' | 'hold' | 'capture' | 'release' | 'adjustment';

/** The append-only credit ledger of a key; the balance is derived from it. */
export interface Ledger {
  append(entry: { apiKeyId: string; kind: LedgerEntryKind; amount: number; taskId?: string; note?: string }): Promise<void>;
  balance(apiKeyId: string): Promise<number>;
}
