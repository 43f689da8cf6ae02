import type { Kysely, Selectable } from 'kysely';
import type { GateChange, GateState, ProviderGateStore } from '../ports/provider-gate-store.js';
import type { Database, ProviderGatesTable } from './database-schema.js';
import type { StorageDialect } from './storage-dialect.js';

function toState(row: Selectable<ProviderGatesTable>): GateState {
  return {
    tokens: Number(row.tokens),
    refilledAt: Number(row.refilled_at),
    failures: Number(row.failures),
    openUntil: Number(row.open_until),
    trialUntil: row.trial_until === null ? null : Number(row.trial_until),
    lastFailure: row.last_failure,
  };
}

/**
 * The `provider_gates` table: one row per entry. A change runs as serialised work under the
 * entry's name (Postgres: an advisory lock, then reads see every committed change; SQLite: the
 * write lock), so the read, the decision and the write of one process never interleave with
 * another's: one breaker and one token bucket per entry, whatever the number of processes.
 */
export class SqlProviderGateStore implements ProviderGateStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: StorageDialect,
    private readonly now: () => number = Date.now,
  ) {}

  async find(entry: string): Promise<GateState | undefined> {
    const row = await this.db.selectFrom('provider_gates').selectAll().where('entry', '=', entry).executeTakeFirst();
    return row ? toState(row) : undefined;
  }

  async all(): Promise<ReadonlyMap<string, GateState>> {
    const rows = await this.db.selectFrom('provider_gates').selectAll().execute();
    return new Map(rows.map((row) => [row.entry, toState(row)]));
  }

  change<T>(entry: string, decide: (current: GateState | undefined) => GateChange<T>): Promise<T> {
    return this.dialect.serialized(this.db, `provider-gate:${entry}`, async (executor) => {
      const row = await executor.selectFrom('provider_gates').selectAll().where('entry', '=', entry).executeTakeFirst();
      const current = row ? toState(row) : undefined;
      const { state, answer } = decide(current);
      if (state === current) return answer;
      const values = {
        tokens: state.tokens,
        refilled_at: state.refilledAt,
        failures: state.failures,
        open_until: state.openUntil,
        trial_until: state.trialUntil,
        last_failure: state.lastFailure,
        updated_at: this.now(),
      };
      await executor
        .insertInto('provider_gates')
        .values({ entry, ...values })
        .onConflict((conflict) => conflict.column('entry').doUpdateSet(values))
        .execute();
      return answer;
    });
  }
}
