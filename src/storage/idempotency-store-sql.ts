import type { Kysely } from 'kysely';
import type { IdempotencyRecord, IdempotencyRequest, IdempotencyStore } from '../ports/idempotency-store.js';
import type { Database } from './database-schema.js';

export class SqlIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async find(apiKeyId: string, key: string, freshSince: number): Promise<IdempotencyRecord | undefined> {
    const row = await this.db
      .selectFrom('idempotency_keys')
      .select(['fingerprint', 'task_id'])
      .where('api_key_id', '=', apiKeyId)
      .where('idempotency_key', '=', key)
      .where('created_at', '>=', freshSince)
      .executeTakeFirst();
    return row ? { fingerprint: row.fingerprint, taskId: row.task_id } : undefined;
  }

  async claim(apiKeyId: string, request: IdempotencyRequest, taskId: string, at: number, freshSince: number): Promise<boolean> {
    // A stale record is overwritten; a fresh one is left alone and the claim fails.
    const result = await this.db
      .insertInto('idempotency_keys')
      .values({ api_key_id: apiKeyId, idempotency_key: request.key, fingerprint: request.fingerprint, task_id: taskId, created_at: at })
      .onConflict((conflict) =>
        conflict
          .columns(['api_key_id', 'idempotency_key'])
          .doUpdateSet({ fingerprint: request.fingerprint, task_id: taskId, created_at: at })
          .where('idempotency_keys.created_at', '<', freshSince),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async sweep(freshSince: number): Promise<number> {
    const result = await this.db.deleteFrom('idempotency_keys').where('created_at', '<', freshSince).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
