import type { Kysely, Selectable } from 'kysely';
import { newRowId } from '../domain/ids.js';
import type { ApiKeyRecord, KeyStore, Ledger, LedgerEntry, LedgerEntryKind, NewApiKey, SettingsStore } from '../ports/key-store.js';
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

export class SqlLedger implements Ledger {
  constructor(private readonly db: Kysely<Database>) {}

  /** Call inside a transaction: the entry and the running balance are written together. */
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
    await this.db
      .insertInto('api_key_balances')
      .values({ api_key_id: entry.apiKeyId, balance: entry.amount })
      .onConflict((conflict) => conflict.column('api_key_id').doUpdateSet((eb) => ({ balance: eb('api_key_balances.balance', '+', entry.amount) })))
      .execute();
  }

  /** The balance recomputed from every entry (to check the running one against). */
  async ledgerSum(apiKeyId: string): Promise<number> {
    const row = await this.db
      .selectFrom('ledger_entries')
      .select((eb) => eb.fn.sum<number>('amount').as('sum'))
      .where('api_key_id', '=', apiKeyId)
      .executeTakeFirst();
    return Number(row?.sum ?? 0);
  }

  async history(apiKeyId: string, limit: number): Promise<LedgerEntry[]> {
    const rows = await this.db
      .selectFrom('ledger_entries')
      .selectAll()
      .where('api_key_id', '=', apiKeyId)
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      kind: row.kind as LedgerEntryKind,
      amount: Number(row.amount),
      taskId: row.task_id,
      note: row.note,
      createdAt: Number(row.created_at),
    }));
  }

  async balance(apiKeyId: string): Promise<number> {
    const row = await this.db.selectFrom('api_key_balances').select('balance').where('api_key_id', '=', apiKeyId).executeTakeFirst();
    return Number(row?.balance ?? 0);
  }
}

export class SqlSettingsStore implements SettingsStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(name: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('service_settings').select('value').where('name', '=', name).executeTakeFirst();
    return row?.value;
  }

  async set(name: string, value: string, at: number): Promise<void> {
    await this.db
      .insertInto('service_settings')
      .values({ name, value, updated_at: at })
      .onConflict((conflict) => conflict.column('name').doUpdateSet({ value, updated_at: at }))
      .execute();
  }
}
