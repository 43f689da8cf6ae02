import type { Kysely } from 'kysely';
import { newRowId } from '../domain/ids.js';
import type { RateWindowStore, WindowAnswer, WindowLimit } from '../ports/rate-window-store.js';
import type { Database } from './database-schema.js';
import type { StorageDialect } from './storage-dialect.js';

/**
 * Sliding windows as rows: one per admission, counted while it is younger than the window (the
 * `(window_key, admitted_at)` index answers the count). Counting and admitting under one key run
 * as serialised work (Postgres: an advisory lock per key; SQLite: the write lock), so two
 * processes can never both take the last place. Exact: never more than `count` admissions in any
 * window, and Retry-After is when the oldest admission leaves it.
 */
export class SqlRateWindowStore implements RateWindowStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: StorageDialect,
  ) {}

  admit(key: string, limit: WindowLimit, at: number): Promise<WindowAnswer> {
    return this.dialect.serialized(this.db, `rate-window:${key}`, async (executor) => {
      const inWindow = await executor
        .selectFrom('rate_admissions')
        .select((eb) => [eb.fn.countAll().as('count'), eb.fn.min('admitted_at').as('oldest')])
        .where('window_key', '=', key)
        .where('admitted_at', '>', at - limit.windowMs)
        .executeTakeFirstOrThrow();
      if (Number(inWindow.count) >= limit.count) {
        return { retryAfterMs: Math.max(1, Number(inWindow.oldest) + limit.windowMs - at) };
      }
      const admission = newRowId();
      await executor
        .insertInto('rate_admissions')
        .values({ id: admission, window_key: key, admitted_at: at, expires_at: at + limit.windowMs })
        .execute();
      return { admission };
    });
  }

  async withdraw(admission: string): Promise<void> {
    await this.db.deleteFrom('rate_admissions').where('id', '=', admission).execute();
  }

  async sweep(at: number): Promise<number> {
    const result = await this.db.deleteFrom('rate_admissions').where('expires_at', '<=', at).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
