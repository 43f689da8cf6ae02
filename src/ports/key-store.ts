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
  /**
   * Where the key's tasks report their end when the dialect that took them has no callback URL
   * per request (the OpenAI-compatible one, whose webhooks are configured per project).
   */
  readonly webhookUrl: string | null;
  /** Overrides SEGUE_RATE_LIMIT for this key (e.g. `50/10s`). */
  readonly rateLimit: string | null;
  /** Overrides SEGUE_MAX_UNFINISHED_TASKS for this key. */
  readonly maxUnfinishedTasks: number | null;
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
  /** Sets (or with null, clears) the key's webhook URL. */
  setWebhookUrl(id: string, url: string | null): Promise<void>;
  list(): Promise<ApiKeyRecord[]>;
  revoke(id: string, at: number): Promise<boolean>;
  /** The key with this hash, revoked or not. */
  findByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  /** Whether this hash was a key's value before a rotation replaced it. */
  wasRetired(keyHash: string): Promise<boolean>;
  /**
   * Gives the key a new secret value (same account, balance and history); the old value stops
   * working and is remembered as retired. Call inside a transaction.
   */
  replaceSecret(id: string, keyHash: string, prefix: string, at: number): Promise<boolean>;
  setLimits(id: string, limits: { rateLimit: string | null; maxUnfinishedTasks: number | null }): Promise<void>;
}
