import { createHash, randomBytes } from 'node:crypto';
import { NotFoundError } from '../domain/errors.js';
import { newRowId } from '../domain/ids.js';
import type { ApiKeyRecord } from '../ports/key-store.js';
import type { Storage } from '../storage/storage.js';

/** A key as handed to its owner, once. Only its hash is stored. */
export interface IssuedKey {
  readonly id: string;
  readonly key: string;
  readonly webhookSecret: string;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** API keys: issue, ensure the bootstrap key, authenticate. */
export class KeyService {
  constructor(private readonly storage: Storage) {}

  /** Creates a key with an opening credit grant, in one transaction. */
  async create(name: string, credits: number, presetKey?: string): Promise<IssuedKey> {
    const key = presetKey ?? `sk-segue-${randomBytes(24).toString('base64url')}`;
    const issued = { id: newRowId(), key, webhookSecret: newWebhookSecret() };
    await this.storage.transaction(async (stores) => {
      await stores.keys.insert({
        id: issued.id,
        name,
        keyHash: hashApiKey(key),
        prefix: key.slice(0, 12),
        webhookSecret: issued.webhookSecret,
        createdAt: Date.now(),
      });
      if (credits > 0) {
        await stores.ledger.append({ apiKeyId: issued.id, kind: 'grant', amount: credits, note: 'opening balance' });
      }
    });
    return issued;
  }

  /**
   * At start-up: makes sure SEGUE_BOOTSTRAP_KEY exists, or, on a first start without it,
   * creates one key. Returns the key only when it was newly generated (to be printed once).
   */
  async ensureBootstrap(bootstrapKey: string | undefined, credits: number): Promise<IssuedKey | undefined> {
    if (bootstrapKey) {
      if (!(await this.storage.keys.findActiveByHash(hashApiKey(bootstrapKey)))) {
        await this.create('bootstrap', credits, bootstrapKey);
      }
      return undefined;
    }
    if ((await this.storage.keys.count()) > 0) return undefined;
    return this.create('first key', credits);
  }

  async authenticate(presented: string): Promise<ApiKeyRecord | undefined> {
    if (presented.length < 16 || presented.length > 256) return undefined;
    return this.storage.keys.findActiveByHash(hashApiKey(presented));
  }

  /** The active key record for a presented key, or NotFound (for operator commands). */
  async require(presented: string): Promise<ApiKeyRecord> {
    const key = await this.authenticate(presented);
    if (!key) throw new NotFoundError('no active API key matches');
    return key;
  }

  /** A new webhook signing secret; the old one keeps signing beside it for `overlapMs`. */
  async rotateWebhookSecret(apiKeyId: string, overlapMs: number): Promise<string> {
    const secret = newWebhookSecret();
    await this.storage.keys.rotateWebhookSecret(apiKeyId, secret, Date.now() + overlapMs);
    return secret;
  }

  /** Turns on the Veo dialect's callback signature with a new HMAC key (or off with `enabled: false`). */
  async setVeoHmacKey(apiKeyId: string, enabled: boolean): Promise<string | null> {
    const hmacKey = enabled ? randomBytes(32).toString('base64url') : null;
    await this.storage.keys.setVeoHmacKey(apiKeyId, hmacKey);
    return hmacKey;
  }

  async balance(apiKeyId: string): Promise<number> {
    return this.storage.ledger.balance(apiKeyId);
  }
}
