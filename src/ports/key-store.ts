/** An API key as stored: only the hash of the key itself is kept. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  /** The first characters of the key, to tell keys apart in listings. */
  readonly prefix: string;
  readonly webhookSecret: string;
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
}

export type LedgerEntryKind = 'grant' | 'hold' | 'capture' | 'release' | 'adjustment';

/** The append-only credit ledger of a key; the balance is derived from it. */
export interface Ledger {
  append(entry: { apiKeyId: string; kind: LedgerEntryKind; amount: number; taskId?: string; note?: string }): Promise<void>;
  balance(apiKeyId: string): Promise<number>;
}
