import * as crypto from 'node:crypto';
import { parseRateLimit } from '../config/config.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { newRowId } from '../domain/ids.js';
import { type AddressPolicy, checkUrlBeforeUse } from '../net/address-guard.js';
import type { ApiKeyRecord } from '../ports/key-store.js';
import type { LedgerEntry } from '../ports/ledger.js';
import type { Storage, Stores } from '../ports/storage.js';

/** A key as handed to its owner, once. Only its hash is stored. */
export interface IssuedKey {
  readonly id: string;
  readonly key: string;
  readonly webhookSecret: string;
}

/**
 * The stored form of an API key, and what every request's key is looked up by: its SHA-256 in
 * hex. `crypto.hash` (Node 20.12 on) does it in one call, several times faster than a Hash object.
 */
export const hashApiKey: (key: string) => string =
  typeof crypto.hash === 'function' ? (key) => crypto.hash('sha256', key, 'hex') : (key) => crypto.createHash('sha256').update(key).digest('hex');

function newKeyValue(): string {
  return `sk-segue-${crypto.randomBytes(24).toString('base64url')}`;
}

function newWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString('base64')}`;
}

/** What start-up found of the bootstrap key. */
export interface BootstrapOutcome {
  /** `revoked` / `rotated`: the configured value stays refused and is not recreated. */
  readonly state: 'created' | 'active' | 'revoked' | 'rotated';
  readonly keyId?: string;
  /** A key generated because none was configured: shown once. */
  readonly issued?: IssuedKey;
}

function checkOpeningCredits(credits: number): void {
  if (!Number.isSafeInteger(credits) || credits < 0) {
    throw new ValidationError(`credits must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`, 'credits');
  }
}

/** A value that could be a key: anything shorter or longer is refused without hashing it. */
const presentable = (presented: string) => presented.length >= 16 && presented.length <= 256;

/** How long a found key is trusted without asking the database again. */
const KNOWN_KEY_MS = 5_000;
/** Keys kept at most (the oldest goes first). */
const KNOWN_KEYS_LIMIT = 10_000;

/** API keys: issue, ensure the bootstrap key, authenticate. */
export class KeyService {
  /** Found keys by the hash of their value (never the value itself). */
  private readonly knownKeys = new Map<string, { record: ApiKeyRecord; version: number; foundAt: number }>();

  constructor(
    private readonly storage: Storage,
    private readonly now: () => number = Date.now,
    /** Which webhook URLs may be set (SEGUE_ALLOW_PRIVATE_NETWORKS); public addresses only by default. */
    private readonly addressPolicy: AddressPolicy = { allowPrivateNetworks: false },
  ) {}

  /** Creates a key with an opening credit grant, in one transaction. */
  async create(name: string, credits: number, presetKey?: string): Promise<IssuedKey> {
    checkOpeningCredits(credits);
    return this.storage.transaction((stores) => this.insertKey(stores, name, credits, presetKey));
  }

  private async insertKey(stores: Stores, name: string, credits: number, presetKey?: string): Promise<IssuedKey> {
    const key = presetKey ?? newKeyValue();
    const issued = { id: newRowId(), key, webhookSecret: newWebhookSecret() };
    await stores.keys.insert({
      id: issued.id,
      name,
      keyHash: hashApiKey(key),
      prefix: key.slice(0, 12),
      webhookSecret: issued.webhookSecret,
      createdAt: this.now(),
    });
    if (credits > 0) {
      await stores.ledger.append({ apiKeyId: issued.id, kind: 'grant', amount: credits, note: 'opening balance' });
    }
    return issued;
  }

  /**
   * At start-up: makes sure SEGUE_BOOTSTRAP_KEY exists, or, on a first start without it,
   * creates one key. A bootstrap value that was revoked or rotated away is never brought back:
   * the answer says so, for the log. `issued` is set only when a key was newly generated (to be
   * printed once). One transaction: API processes started at once create one key between them.
   */
  async ensureBootstrap(bootstrapKey: string | undefined, credits: number): Promise<BootstrapOutcome> {
    checkOpeningCredits(credits);
    return this.storage.transaction(async (stores): Promise<BootstrapOutcome> => {
      if (bootstrapKey) {
        const hash = hashApiKey(bootstrapKey);
        const existing = await stores.keys.findByHash(hash);
        if (existing) return { state: existing.revokedAt === null ? 'active' : 'revoked', keyId: existing.id };
        if (await stores.keys.wasRetired(hash)) return { state: 'rotated' };
        const created = await this.insertKey(stores, 'bootstrap', credits, bootstrapKey);
        return { state: 'created', keyId: created.id };
      }
      if ((await stores.keys.count()) > 0) return { state: 'active' };
      const issued = await this.insertKey(stores, 'first key', credits);
      return { state: 'created', keyId: issued.id, issued };
    });
  }

  /**
   * The active key a presented value names. Keys found are kept (by the value's hash) for a few
   * seconds and only while `ReadChanges` says no key changed anywhere: a revocation here refuses
   * the key from the next request on; one in another process as soon as the database tells.
   */
  async authenticate(presented: string): Promise<ApiKeyRecord | undefined> {
    if (!presentable(presented)) return undefined;
    const hash = hashApiKey(presented);
    // Read before the key: a change committed after this read moves the version past what is kept.
    const version = this.storage.readChanges.version();
    const now = this.now();
    const kept = this.keptKey(hash, version, now);
    if (kept) return kept;
    const record = await this.storage.keys.findActiveByHash(hash);
    this.knownKeys.delete(hash);
    if (record && version !== undefined) {
      if (this.knownKeys.size >= KNOWN_KEYS_LIMIT) this.knownKeys.delete(this.knownKeys.keys().next().value!);
      this.knownKeys.set(hash, { record, version, foundAt: now });
    }
    return record;
  }

  /**
   * The active key a presented value names while it is kept (see `authenticate`), answered at
   * once, without the database; undefined when it is not kept (then ask `authenticate`).
   */
  known(presented: string): ApiKeyRecord | undefined {
    if (!presentable(presented)) return undefined;
    return this.keptKey(hashApiKey(presented), this.storage.readChanges.version(), this.now());
  }

  private keptKey(hash: string, version: number | undefined, now: number): ApiKeyRecord | undefined {
    const known = this.knownKeys.get(hash);
    return known && version !== undefined && known.version === version && now - known.foundAt < KNOWN_KEY_MS ? known.record : undefined;
  }

  /** Runs a write to a key, then lets this process's kept keys go at once. */
  private async changingKey<T>(write: Promise<T>): Promise<T> {
    try {
      return await write;
    } finally {
      this.storage.readChanges.changedHere();
    }
  }

  /** The active key record for a presented key, or NotFound (for operator commands). */
  async require(presented: string): Promise<ApiKeyRecord> {
    const key = await this.authenticate(presented);
    if (!key) throw new NotFoundError('no active API key matches');
    return key;
  }

  /** A key by its id or by its secret value (operators may know either). */
  async find(idOrKey: string): Promise<ApiKeyRecord> {
    const key = (await this.storage.keys.findById(idOrKey)) ?? (await this.authenticate(idOrKey));
    if (!key) throw new NotFoundError('no such API key');
    return key;
  }

  async list(): Promise<Array<ApiKeyRecord & { balance: number }>> {
    const keys = await this.storage.keys.list();
    return Promise.all(keys.map(async (key) => ({ ...key, balance: await this.balance(key.id) })));
  }

  /** Revoked keys answer 401 from the next request on (here at once; other processes see `authenticate`). */
  async revoke(apiKeyId: string): Promise<void> {
    if (!(await this.changingKey(this.storage.keys.revoke(apiKeyId, this.now())))) throw new NotFoundError('no such active API key');
  }

  /** A new secret value for the same account (balance, history, webhook secret); the old value stops at once. */
  async rotate(apiKeyId: string): Promise<string> {
    const key = newKeyValue();
    const replaced = await this.changingKey(
      this.storage.transaction((stores) => stores.keys.replaceSecret(apiKeyId, hashApiKey(key), key.slice(0, 12), this.now())),
    );
    if (!replaced) throw new NotFoundError('no such active API key');
    return key;
  }

  async setLimits(apiKeyId: string, limits: { rateLimit: string | null; maxUnfinishedTasks: number | null }): Promise<void> {
    if (limits.rateLimit !== null && (limits.rateLimit === 'off' || !parseRateLimit(limits.rateLimit))) {
      throw new ValidationError('rateLimit must be a rate such as 20/10s', 'rateLimit');
    }
    if (limits.maxUnfinishedTasks !== null && (!Number.isSafeInteger(limits.maxUnfinishedTasks) || limits.maxUnfinishedTasks < 1)) {
      throw new ValidationError('maxUnfinishedTasks must be a whole number ≥ 1', 'maxUnfinishedTasks');
    }
    await this.find(apiKeyId);
    await this.changingKey(this.storage.keys.setLimits(apiKeyId, limits));
  }

  /**
   * Adds credits (a grant) or takes them away (an adjustment); an adjustment never takes the
   * balance below zero. Returns the new balance.
   */
  async grant(apiKeyId: string, amount: number, note?: string): Promise<number> {
    if (!Number.isSafeInteger(amount) || amount === 0) throw new ValidationError('amount must be a whole number other than 0', 'amount');
    await this.find(apiKeyId);
    return this.storage.transaction(async (stores) => {
      const balance = await stores.ledger.balance(apiKeyId);
      if (balance + amount < 0) throw new ValidationError(`the balance is ${balance}; it cannot go below zero`, 'amount');
      // Every amount stays exact end to end (JSON, JavaScript and both databases).
      if (!Number.isSafeInteger(balance + amount)) {
        throw new ValidationError(`the balance is ${balance}; it cannot go above ${Number.MAX_SAFE_INTEGER}`, 'amount');
      }
      await stores.ledger.append({ apiKeyId, kind: amount > 0 ? 'grant' : 'adjustment', amount, ...(note ? { note } : {}) });
      return balance + amount;
    });
  }

  async history(apiKeyId: string, limit = 100): Promise<LedgerEntry[]> {
    await this.find(apiKeyId);
    return this.storage.ledger.history(apiKeyId, limit);
  }

  /** A new webhook signing secret; the old one keeps signing beside it for `overlapMs`. */
  async rotateWebhookSecret(apiKeyId: string, overlapMs: number): Promise<string> {
    const secret = newWebhookSecret();
    await this.changingKey(this.storage.keys.rotateWebhookSecret(apiKeyId, secret, this.now() + overlapMs));
    return secret;
  }

  /** Turns on the Veo dialect's callback signature with a new HMAC key (or off with `enabled: false`). */
  async setVeoHmacKey(apiKeyId: string, enabled: boolean): Promise<string | null> {
    const hmacKey = enabled ? crypto.randomBytes(32).toString('base64url') : null;
    await this.changingKey(this.storage.keys.setVeoHmacKey(apiKeyId, hmacKey));
    return hmacKey;
  }

  /**
   * Sets the key's webhook URL (null clears it), checked as callback URLs are (scheme,
   * credentials, the host's addresses). Returns the key as it is now.
   */
  async setWebhookUrl(apiKeyId: string, url: string | null): Promise<ApiKeyRecord> {
    if (url !== null) {
      try {
        await checkUrlBeforeUse(url, this.addressPolicy);
      } catch (error) {
        throw new ValidationError(`url ${(error as Error).message}`, 'url');
      }
    }
    await this.find(apiKeyId);
    await this.changingKey(this.storage.keys.setWebhookUrl(apiKeyId, url));
    return this.find(apiKeyId);
  }

  async balance(apiKeyId: string): Promise<number> {
    return this.storage.ledger.balance(apiKeyId);
  }
}
