import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';

/**
 * Forward-only migrations, written with Kysely's schema builder so that the same steps run on
 * SQLite and Postgres. Never edit a released step: add the next one.
 *
 * Type names must mean the same on both engines. SQLite reads a declared type by its affinity
 * only (a name containing INT is a 64-bit integer, one containing DOUB or REAL an 8-byte float);
 * Postgres takes it literally. Values that may pass 32 bits are `bigint`, fractions `double
 * precision`, booleans integers 0/1, JSON text. (When Postgres arrived, `seed` and `price` were
 * respelled from `integer` and `duration_seconds` and `fps` from `real`, which on Postgres are
 * 4 bytes: SQLite gets the same affinity from either spelling, so its databases are unchanged.)
 */
const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('key_prefix', 'text', (c) => c.notNull())
        .addColumn('webhook_secret', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();

      await db.schema
        .createTable('ledger_entries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('api_key_id', 'text', (c) => c.notNull().references('api_keys.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('task_id', 'text')
        .addColumn('note', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ledger_entries_by_key').on('ledger_entries').columns(['api_key_id', 'created_at']).execute();

      await db.schema
        .createTable('tasks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('api_key_id', 'text', (c) => c.notNull().references('api_keys.id'))
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('parent_task_id', 'text', (c) => c.references('tasks.id'))
        .addColumn('root_task_id', 'text', (c) => c.notNull())
        .addColumn('parameters', 'text', (c) => c.notNull())
        .addColumn('request_echo', 'text', (c) => c.notNull())
        .addColumn('seed', 'bigint', (c) => c.notNull())
        .addColumn('callback_url', 'text')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('provider_handle', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('failure_stage', 'text')
        .addColumn('failure_reason', 'text')
        .addColumn('error_message', 'text')
        .addColumn('video_key', 'text')
        .addColumn('segment_key', 'text')
        .addColumn('poster_key', 'text')
        .addColumn('duration_seconds', 'double precision')
        .addColumn('width', 'integer')
        .addColumn('height', 'integer')
        .addColumn('fps', 'double precision')
        .addColumn('has_audio', 'integer')
        .addColumn('engine_details', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tasks_by_key').on('tasks').columns(['api_key_id', 'created_at']).execute();
      await db.schema.createIndex('tasks_by_parent').on('tasks').columns(['parent_task_id', 'operation']).execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.unique())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('run_at', 'bigint', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_due').on('jobs').columns(['state', 'run_at']).execute();
      await db.schema.createIndex('jobs_leased').on('jobs').columns(['state', 'lease_expires_at']).execute();
    },
  },
  '0002_callback_outbox': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('api_keys').addColumn('previous_webhook_secret', 'text').execute();
      await db.schema.alterTable('api_keys').addColumn('previous_webhook_secret_expires_at', 'bigint').execute();
      await db.schema.alterTable('api_keys').addColumn('veo_hmac_key', 'text').execute();

      await db.schema
        .createTable('callback_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id'))
        .addColumn('api_key_id', 'text', (c) => c.notNull().references('api_keys.id'))
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('round', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('attempts_in_round', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('delivered_at', 'bigint')
        .execute();
      await db.schema.createIndex('callback_deliveries_by_task').on('callback_deliveries').column('task_id').execute();
      await db.schema.createIndex('callback_deliveries_by_key').on('callback_deliveries').columns(['api_key_id', 'state']).execute();

      await db.schema
        .createTable('callback_attempts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('delivery_id', 'text', (c) => c.notNull().references('callback_deliveries.id'))
        .addColumn('round', 'integer', (c) => c.notNull())
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('attempted_at', 'bigint', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('response_preview', 'text')
        .execute();
      await db.schema.createIndex('callback_attempts_by_delivery').on('callback_attempts').columns(['delivery_id', 'attempted_at']).execute();
    },
  },
  '0003_accounts_and_money': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('api_keys').addColumn('rate_limit', 'text').execute();
      await db.schema.alterTable('api_keys').addColumn('max_unfinished_tasks', 'integer').execute();
      await db.schema.alterTable('tasks').addColumn('price', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.createIndex('tasks_unfinished_by_key').on('tasks').columns(['api_key_id', 'state']).execute();
      // A task holds, captures and releases at most once: the database refuses a second row.
      await db.schema.createIndex('ledger_entries_once_per_task').on('ledger_entries').columns(['task_id', 'kind']).unique().execute();
      await db.schema
        .createTable('service_settings')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0004_balances': {
    async up(db: Kysely<any>) {
      // The running sum of each key's ledger, kept in the same transaction as every entry, so
      // admitting a task reads one row instead of summing a ledger that only grows.
      await db.schema
        .createTable('api_key_balances')
        .addColumn('api_key_id', 'text', (c) => c.primaryKey().references('api_keys.id'))
        .addColumn('balance', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into api_key_balances (api_key_id, balance)
                select api_key_id, sum(amount) from ledger_entries group by api_key_id`.execute(db);
    },
  },
  '0005_one_upgrade_each': {
    async up(db: Kysely<any>) {
      // Two clients asking for the same upgrade at once get one task, not two (and one charge).
      await db.schema
        .createIndex('tasks_one_upgrade_each')
        .on('tasks')
        .columns(['parent_task_id', 'operation'])
        .unique()
        .where(sql.ref('operation'), 'in', sql`('upgrade_1080p', 'upgrade_4k')`)
        .execute();
    },
  },
  '0006_provider_routes': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('tasks').addColumn('provider_route', 'text').execute();
      await db.schema.alterTable('tasks').addColumn('upstream_output_uri', 'text').execute();
      await db.schema.alterTable('tasks').addColumn('upstream_output_created_at', 'bigint').execute();
      // Per-entry concurrency counts running tasks of one provider entry.
      await db.schema.createIndex('tasks_by_provider_state').on('tasks').columns(['provider', 'state']).execute();
      // Provider webhooks are delivered at least once: each id is acted on once.
      await db.schema
        .createTable('inbound_webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0007_reliability': {
    async up(db: Kysely<any>) {
      // A job whose worker died is not the job's fault: such claims are counted apart from attempts.
      await db.schema.alterTable('jobs').addColumn('interruptions', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      // Key values that were rotated away: the bootstrap key must never bring one back.
      await db.schema
        .createTable('retired_key_hashes')
        .addColumn('key_hash', 'text', (c) => c.primaryKey())
        .addColumn('api_key_id', 'text', (c) => c.notNull().references('api_keys.id'))
        .addColumn('retired_at', 'bigint', (c) => c.notNull())
        .execute();
      // Idempotency-Key of creates: one task per (API key, idempotency key) while it is fresh.
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('api_key_id', 'text', (c) => c.notNull().references('api_keys.id'))
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('task_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['api_key_id', 'idempotency_key'])
        .execute();
      await db.schema.createIndex('idempotency_keys_by_age').on('idempotency_keys').column('created_at').execute();
    },
  },
  '0008_extension_methods': {
    async up(db: Kysely<any>) {
      // How an extension continues its source (native, bridge, local) and why, as routing decided.
      await db.schema.alterTable('tasks').addColumn('extend_method', 'text').execute();
      await db.schema.alterTable('tasks').addColumn('extend_reason', 'text').execute();
      await db.schema.alterTable('tasks').addColumn('extend_lesser', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  },
  '0009_shared_state': {
    async up(db: Kysely<any>) {
      // Per-key rate limits shared by every API process: one row per admission, counted over a sliding window.
      await db.schema
        .createTable('rate_admissions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('window_key', 'text', (c) => c.notNull())
        .addColumn('admitted_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('rate_admissions_by_window').on('rate_admissions').columns(['window_key', 'admitted_at']).execute();
      await db.schema.createIndex('rate_admissions_by_expiry').on('rate_admissions').column('expires_at').execute();
      // One gate per provider entry, shared by every worker: request tokens and the circuit breaker.
      await db.schema
        .createTable('provider_gates')
        .addColumn('entry', 'text', (c) => c.primaryKey())
        .addColumn('tokens', 'double precision', (c) => c.notNull())
        .addColumn('refilled_at', 'bigint', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('open_until', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('trial_until', 'bigint')
        .addColumn('last_failure', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // A job parked until an event wakes it (a start waiting for a provider slot); few rows carry one.
      await db.schema.alterTable('jobs').addColumn('waiting_for', 'text').execute();
      await db.schema
        .createIndex('jobs_waiting')
        .on('jobs')
        .columns(['waiting_for', 'created_at'])
        .where(sql.ref('waiting_for'), 'is not', null)
        .execute();
      // What /metrics counts: unfinished tasks by state and entry, callback deliveries by state.
      await db.schema.createIndex('tasks_by_state_provider').on('tasks').columns(['state', 'provider']).execute();
      await db.schema.createIndex('callback_deliveries_by_state').on('callback_deliveries').column('state').execute();
    },
  },
  '0010_dialects_and_deletion': {
    async up(db: Kysely<any>) {
      // The dialect that took a task shapes its callbacks; tasks from before were all the Veo dialect's.
      await db.schema.alterTable('tasks').addColumn('dialect', 'text', (c) => c.notNull().defaultTo('veo')).execute();
      // A task its key deleted: hidden from that key's reads, kept for the ledger and operators.
      await db.schema.alterTable('tasks').addColumn('deleted_at', 'bigint').execute();
      // Where a key's tasks report their end when its dialect takes no callback URL per request.
      await db.schema.alterTable('api_keys').addColumn('webhook_url', 'text').execute();
    },
  },
  '0013_held_jobs': {
    async up(db: Kysely<any>) {
      // A poll a worker holds between runs (in its timer wheel) that an event asked to run now.
      await db.schema.alterTable('jobs').addColumn('woken_at', 'bigint').execute();
      await db.schema
        .createIndex('jobs_woken')
        .on('jobs')
        .columns(['lease_owner', 'woken_at'])
        .where(sql.ref('woken_at'), 'is not', null)
        .execute();
      // A worker extends every lease it holds in one statement.
      await db.schema.createIndex('jobs_by_lease_owner').on('jobs').columns(['lease_owner', 'state']).execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Brings the database schema up to date; throws if a step fails. */
export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
}
