import { type Kysely, type Selectable, sql } from 'kysely';
import { newRowId } from '../domain/ids.js';
import type { EnqueueRequest, JobCount, JobQueue, JobRecord, JobState, RescheduleOptions } from '../ports/job-queue.js';
import type { Database, JobsTable } from './database-schema.js';
import type { StorageDialect } from './storage-dialect.js';

function toJob(row: Selectable<JobsTable>): JobRecord {
  return {
    id: row.id,
    kind: row.kind,
    payload: JSON.parse(row.payload),
    idempotencyKey: row.idempotency_key,
    state: row.state as JobState,
    attempts: Number(row.attempts),
    interruptions: Number(row.interruptions),
    maxAttempts: Number(row.max_attempts),
    runAt: Number(row.run_at),
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at === null ? null : Number(row.lease_expires_at),
    lastError: row.last_error,
  };
}

/**
 * The jobs table as a queue. A claim is one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING`:
 * SQLite runs it under its single write lock; where writers are concurrent the inner select
 * locks its row and skips locked ones. Either way two workers never claim the same job.
 * `onEnqueued` is told when a job was queued (and whether it is due now), so that workers wake
 * at once instead of at their next poll.
 */
/** The columns every new job row starts with, whatever state it is written in. */
function newJobRow(request: EnqueueRequest, now: number) {
  return {
    id: newRowId(),
    kind: request.kind,
    payload: JSON.stringify(request.payload),
    idempotency_key: request.idempotencyKey ?? null,
    max_attempts: request.maxAttempts,
    run_at: request.runAt ?? now,
    created_at: now,
    updated_at: now,
  };
}

export class SqlJobQueue implements JobQueue {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: StorageDialect,
    private readonly onEnqueued: (dueNow: boolean) => void | Promise<void> = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  async enqueue(request: EnqueueRequest): Promise<void> {
    const now = this.now();
    const runAt = request.runAt ?? now;
    await this.db
      .insertInto('jobs')
      .values({ ...newJobRow(request, now), state: 'queued' })
      .onConflict((conflict) => conflict.column('idempotency_key').doNothing())
      .execute();
    await this.onEnqueued(runAt <= now);
  }

  async enqueueLeased(request: EnqueueRequest, lease: { readonly workerId: string; readonly leaseMs: number }): Promise<JobRecord | undefined> {
    const now = this.now();
    const row = await this.db
      .insertInto('jobs')
      .values({
        ...newJobRow(request, now),
        // As a claim leaves it: running, its first attempt counted, leased to its worker.
        state: 'running',
        attempts: 1,
        lease_owner: lease.workerId,
        lease_expires_at: now + lease.leaseMs,
      })
      .onConflict((conflict) => conflict.column('idempotency_key').doNothing())
      .returningAll()
      .executeTakeFirst();
    return row ? toJob(row) : undefined;
  }

  async claim(workerId: string, kinds: readonly string[], leaseMs: number): Promise<JobRecord | undefined> {
    return (await this.claimBatch(workerId, kinds, leaseMs, 1))[0];
  }

  async claimBatch(workerId: string, kinds: readonly string[], leaseMs: number, limit: number): Promise<JobRecord[]> {
    if (kinds.length === 0 || limit < 1) return [];
    const now = this.now();
    const rows = await this.db
      .updateTable('jobs')
      .set({
        state: 'running',
        lease_owner: workerId,
        lease_expires_at: now + leaseMs,
        woken_at: null,
        // Taking over a job whose lease expired is not a new attempt: its worker died.
        attempts: sql`case when state = 'running' then attempts else attempts + 1 end`,
        interruptions: sql`case when state = 'running' then interruptions + 1 else interruptions end`,
        updated_at: now,
      })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('jobs')
          .select('id')
          .where('kind', 'in', kinds)
          .where((w) =>
            w.or([
              w.and([w('state', '=', 'queued'), w('run_at', '<=', now)]),
              w.and([w('state', '=', 'running'), w('lease_expires_at', '<', now)]),
            ]),
          )
          .orderBy('run_at')
          .limit(limit)
          // Where writers run side by side, a row another claim holds is skipped, not waited for.
          .$if(this.dialect.capabilities.skipLocked, (query) => query.forUpdate().skipLocked()),
      )
      .returningAll()
      .execute();
    return rows.map(toJob).sort((a, b) => a.runAt - b.runAt);
  }

  async extendLeases(workerId: string, leaseMs: number): Promise<Set<string>> {
    const rows = await this.db
      .updateTable('jobs')
      .set({ lease_expires_at: this.now() + leaseMs })
      .where('lease_owner', '=', workerId)
      .where('state', '=', 'running')
      .returning('id')
      .execute();
    return new Set(rows.map((row) => row.id));
  }

  async release(workerId: string, jobs: ReadonlyArray<{ readonly jobId: string; readonly runAt: number }>): Promise<void> {
    if (jobs.length === 0) return;
    const now = this.now();
    for (let start = 0; start < jobs.length; start += 500) {
      await this.dialect.writeTransaction(async (trx) => {
        for (const { jobId, runAt } of jobs.slice(start, start + 500)) {
          await trx
            .updateTable('jobs')
            .set({ state: 'queued', run_at: runAt, lease_owner: null, lease_expires_at: null, woken_at: null, attempts: sql<number>`attempts - 1`, updated_at: now })
            .where('id', '=', jobId)
            .where('lease_owner', '=', workerId)
            .where('state', '=', 'running')
            .execute();
        }
      });
    }
    await this.onEnqueued(jobs.some((job) => job.runAt <= now));
  }

  async takeWoken(workerId: string): Promise<string[]> {
    // A read first: it takes no write lock, and almost always finds nothing.
    const woken = await this.db
      .selectFrom('jobs')
      .select('id')
      .where('lease_owner', '=', workerId)
      .where('woken_at', 'is not', null)
      .where('state', '=', 'running')
      .execute();
    if (woken.length === 0) return [];
    const rows = await this.db
      .updateTable('jobs')
      .set({ woken_at: null })
      .where('id', 'in', woken.map((row) => row.id))
      .where('lease_owner', '=', workerId)
      .where('woken_at', 'is not', null)
      .returning('id')
      .execute();
    return rows.map((row) => row.id);
  }


  async heartbeat(jobId: string, workerId: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    return this.updateOwned(jobId, workerId, { lease_expires_at: now + leaseMs, updated_at: now });
  }

  async complete(jobId: string, workerId: string): Promise<boolean> {
    return this.updateOwned(jobId, workerId, {
      state: 'succeeded',
      lease_owner: null,
      lease_expires_at: null,
      updated_at: this.now(),
    });
  }

  async completeMany(jobIds: readonly string[], workerId: string): Promise<number> {
    if (jobIds.length === 0) return 0;
    const result = await this.db
      .updateTable('jobs')
      .set({ state: 'succeeded', lease_owner: null, lease_expires_at: null, updated_at: this.now() })
      .where('id', 'in', jobIds)
      .where('lease_owner', '=', workerId)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async reschedule(jobId: string, workerId: string, runAt: number, options: RescheduleOptions): Promise<boolean> {
    const moved = await this.updateOwned(jobId, workerId, {
      state: 'queued',
      run_at: runAt,
      lease_owner: null,
      lease_expires_at: null,
      waiting_for: options.waitingFor ?? null,
      updated_at: this.now(),
      ...(options.spendAttempt ? {} : { attempts: sql<number>`attempts - 1` }),
      ...(options.error !== undefined ? { last_error: options.error } : {}),
    });
    if (moved) await this.onEnqueued(runAt <= this.now());
    return moved;
  }

  async bury(jobId: string, workerId: string, error: string): Promise<boolean> {
    return this.updateOwned(jobId, workerId, {
      state: 'dead',
      last_error: error,
      lease_owner: null,
      lease_expires_at: null,
      updated_at: this.now(),
    });
  }

  async wake(idempotencyKey: string): Promise<void> {
    const now = this.now();
    await this.db
      .updateTable('jobs')
      .set({ run_at: now, updated_at: now })
      .where('idempotency_key', '=', idempotencyKey)
      .where('state', '=', 'queued')
      .where('run_at', '>', now)
      .execute();
    // A job running or held between runs by a worker: that worker runs it (again) at once.
    await this.db
      .updateTable('jobs')
      .set({ woken_at: now })
      .where('idempotency_key', '=', idempotencyKey)
      .where('state', '=', 'running')
      .execute();
    await this.onEnqueued(true);
  }

  async wakeOldestWaiting(waitingFor: string): Promise<boolean> {
    const now = this.now();
    const result = await this.db
      .updateTable('jobs')
      .set({ run_at: now, waiting_for: null, updated_at: now })
      .where('id', '=', (eb) =>
        eb
          .selectFrom('jobs')
          .select('id')
          .where('waiting_for', '=', waitingFor)
          .where('state', '=', 'queued')
          .orderBy('created_at')
          .limit(1)
          // Two wakes at once take two parked jobs: the one another wake holds is skipped.
          .$if(this.dialect.capabilities.skipLocked, (query) => query.forUpdate().skipLocked()),
      )
      // A wake that waited for a concurrent one finds the job unparked and leaves it.
      .where('waiting_for', '=', waitingFor)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    const woken = Number(result.numUpdatedRows) === 1;
    if (woken) await this.onEnqueued(true);
    return woken;
  }

  async nextRunAt(kinds: readonly string[]): Promise<number | undefined> {
    if (kinds.length === 0) return undefined;
    const row = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.min('run_at').as('next'))
      .where('state', '=', 'queued')
      .where('kind', 'in', kinds)
      .executeTakeFirst();
    return row?.next === null || row?.next === undefined ? undefined : Number(row.next);
  }

  async findByKey(idempotencyKey: string): Promise<JobRecord | undefined> {
    const row = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('idempotency_key', '=', idempotencyKey)
      .executeTakeFirst();
    return row ? toJob(row) : undefined;
  }

  async liveLeaseOwners(): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('jobs')
      .select('lease_owner')
      .distinct()
      .where('state', '=', 'running')
      .where('lease_expires_at', '>=', this.now())
      .execute();
    return new Set(rows.flatMap((row) => (row.lease_owner ? [row.lease_owner] : [])));
  }

  async countByKindAndState(): Promise<JobCount[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select((eb) => ['kind', 'state', eb.fn.countAll().as('count')])
      .where('state', 'in', ['queued', 'running', 'dead'])
      .groupBy(['kind', 'state'])
      .execute();
    return rows.map((row) => ({ kind: row.kind, state: row.state as JobState, count: Number(row.count) }));
  }

  async oldestDue(at: number): Promise<Array<{ readonly kind: string; readonly runAt: number }>> {
    const rows = await this.db
      .selectFrom('jobs')
      .select((eb) => ['kind', eb.fn.min('run_at').as('run_at')])
      .where('state', '=', 'queued')
      .where('run_at', '<=', at)
      .groupBy('kind')
      .execute();
    return rows.map((row) => ({ kind: row.kind, runAt: Number(row.run_at) }));
  }

  private async updateOwned(jobId: string, workerId: string, values: Record<string, unknown>): Promise<boolean> {
    const result = await this.db
      .updateTable('jobs')
      .set(values)
      .where('id', '=', jobId)
      .where('lease_owner', '=', workerId)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
