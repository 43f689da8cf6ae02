import type { Kysely, Selectable } from 'kysely';
import type { ApiKeyRecord, KeyStore, NewApiKey } from '../ports/key-store.js';
import type { ApiKeysTable, Database } from './database-schema.js';

function toKey(row: Selectable<ApiKeysTable>): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.key_prefix,
    webhookSecret: row.webhook_secret,
    previousWebhookSecret: row.previous_webhook_secret,
    previousWebhookSecretExpiresAt: row.previous_webhook_secret_expires_at === null ? null : Number(row.previous_webhook_secret_expires_at),
    veoHmacKey: row.veo_hmac_key,
    webhookUrl: row.webhook_url,
    rateLimit: row.rate_limit,
    maxUnfinishedTasks: row.max_unfinished_tasks,
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

export class SqlKeyStore implements KeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(key: NewApiKey): Promise<void> {
    await this.db
      .insertInto('api_keys')
      .values({
        id: key.id,
        name: key.name,
        key_hash: key.keyHash,
        key_prefix: key.prefix,
        webhook_secret: key.webhookSecret,
        created_at: key.createdAt,
      })
      .execute();
  }

  async findActiveByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('key_hash', '=', keyHash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row ? toKey(row) : undefined;
  }

  async findById(id: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toKey(row) : undefined;
  }

  async rotateWebhookSecret(id: string, secret: string, previousValidUntil: number): Promise<void> {
    await this.db
      .updateTable('api_keys')
      .set((eb) => ({
        previous_webhook_secret: eb.ref('webhook_secret'),
        previous_webhook_secret_expires_at: previousValidUntil,
        webhook_secret: secret,
      }))
      .where('id', '=', id)
      .execute();
  }

  async setVeoHmacKey(id: string, hmacKey: string | null): Promise<void> {
    await this.db.updateTable('api_keys').set({ veo_hmac_key: hmacKey }).where('id', '=', id).execute();
  }

  async setWebhookUrl(id: string, url: string | null): Promise<void> {
    await this.db.updateTable('api_keys').set({ webhook_url: url }).where('id', '=', id).execute();
  }

  async list(): Promise<ApiKeyRecord[]> {
    return (await this.db.selectFrom('api_keys').selectAll().orderBy('created_at').execute()).map(toKey);
  }

  async revoke(id: string, at: number): Promise<boolean> {
    const result = await this.db.updateTable('api_keys').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async findByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
    return row ? toKey(row) : undefined;
  }

  async wasRetired(keyHash: string): Promise<boolean> {
    const row = await this.db.selectFrom('retired_key_hashes').select('key_hash').where('key_hash', '=', keyHash).executeTakeFirst();
    return row !== undefined;
  }

  async replaceSecret(id: string, keyHash: string, prefix: string, at: number): Promise<boolean> {
    await this.db
      .insertInto('retired_key_hashes')
      .columns(['key_hash', 'api_key_id', 'retired_at'])
      .expression((eb) =>
        eb.selectFrom('api_keys').select(['key_hash', 'id', eb.val(at).as('retired_at')]).where('id', '=', id).where('revoked_at', 'is', null),
      )
      .onConflict((conflict) => conflict.column('key_hash').doNothing())
      .execute();
    const result = await this.db
      .updateTable('api_keys')
      .set({ key_hash: keyHash, key_prefix: prefix })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async setLimits(id: string, limits: { rateLimit: string | null; maxUnfinishedTasks: number | null }): Promise<void> {
    await this.db
      .updateTable('api_keys')
      .set({ rate_limit: limits.rateLimit, max_unfinished_tasks: limits.maxUnfinishedTasks })
      .where('id', '=', id)
      .execute();
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}
