import type { Kysely } from 'kysely';
import { newRowId } from '../domain/ids.js';
import type { Ledger, LedgerEntry, LedgerEntryKind } from '../ports/ledger.js';
import type { Database } from './database-schema.js';

export class SqlLedger implements Ledger {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Call inside a transaction: the entry and the running balance are written together. */
  async append(entry: { apiKeyId: string; kind: LedgerEntryKind; amount: number; taskId?: string; note?: string }): Promise<void> {
    await this.insertEntry(entry);
    await this.db
      .insertInto('api_key_balances')
      .values({ api_key_id: entry.apiKeyId, balance: entry.amount })
      .onConflict((conflict) => conflict.column('api_key_id').doUpdateSet((eb) => ({ balance: eb('api_key_balances.balance', '+', entry.amount) })))
      .execute();
  }

  /** Call inside a transaction: the balance moves only if it covers the price, then the entry is written. */
  async holdIfCovered(apiKeyId: string, taskId: string, price: number): Promise<boolean> {
    const taken = await this.db
      .updateTable('api_key_balances')
      .set((eb) => ({ balance: eb('balance', '-', price) }))
      .where('api_key_id', '=', apiKeyId)
      .where('balance', '>=', price)
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) !== 1) return false;
    await this.insertEntry({ apiKeyId, kind: 'hold', amount: -price, taskId });
    return true;
  }

  private async insertEntry(entry: { apiKeyId: string; kind: LedgerEntryKind; amount: number; taskId?: string; note?: string }): Promise<void> {
    await this.db
      .insertInto('ledger_entries')
      .values({
        id: newRowId(),
        api_key_id: entry.apiKeyId,
        kind: entry.kind,
        amount: entry.amount,
        task_id: entry.taskId ?? null,
        note: entry.note ?? null,
        created_at: this.now(),
      })
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
