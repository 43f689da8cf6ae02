import type { Kysely, Selectable } from 'kysely';
import { newRowId } from '../domain/ids.js';
import type { ApiKeyRecord, KeyStore, Ledger, LedgerEntryKind, NewApiKey } from '../ports/key-store.js';
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

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}

export class SqlLedger implements Ledger {
  constructor(private readonly db: Kysely<Database>) {}

  async append(entry: { apiKeyId: string; kind: LedgerEntryKind; amount: number; taskId?: string; note?: string }): Promise<void> {
    await this.db
      .insertInto('ledger_entries')
      .values({
        id: newRowId(),
        api_key_id: entry.apiKeyId,
        kind: entry.kind,
        amount: entry.amount,
        task_id: entry.taskId ?? null,
        note: entry.note ?? null,
        created_at: Date.now(),
      })
      .execute();
  }

  async balance(apiKeyId: string): Promise<number> {
    const row = await this.db
      .selectFrom('ledger_entries')
      .select((eb) => eb.fn.sum<number>('amount').as('balance'))
      .where('api_key_id', '=', apiKeyId)
      .executeTakeFirst();
    return Number(row?.balance ?? 0);
  }
}
