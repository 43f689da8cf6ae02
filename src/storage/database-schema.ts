import type { Generated } from 'kysely';

/** Row types of every table. Times are epoch milliseconds; JSON columns are text. */
export interface ApiKeysTable {
  id: string;
  name: string;
  key_hash: string;
  key_prefix: string;
  webhook_secret: string;
  created_at: number;
  revoked_at: number | null;
  previous_webhook_secret: string | null;
  previous_webhook_secret_expires_at: number | null;
  veo_hmac_key: string | null;
  rate_limit: string | null;
  max_unfinished_tasks: number | null;
  webhook_url: string | null;
}

export interface LedgerEntriesTable {
  id: string;
  api_key_id: string;
  kind: string;
  amount: number;
  task_id: string | null;
  note: string | null;
  created_at: number;
}

export interface TasksTable {
  id: string;
  api_key_id: string;
  operation: string;
  parent_task_id: string | null;
  root_task_id: string;
  parameters: string;
  request_echo: string;
  seed: number;
  price: Generated<number>;
  callback_url: string | null;
  provider: string;
  provider_handle: string | null;
  state: string;
  progress: number;
  failure_stage: string | null;
  failure_reason: string | null;
  error_message: string | null;
  video_key: string | null;
  segment_key: string | null;
  poster_key: string | null;
  duration_seconds: number | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  has_audio: number | null;
  engine_details: string | null;
  provider_route: string | null;
  extend_method: string | null;
  extend_reason: string | null;
  extend_lesser: Generated<number>;
  upstream_output_uri: string | null;
  upstream_output_created_at: number | null;
  dialect: Generated<string>;
  deleted_at: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

export interface JobsTable {
  id: string;
  kind: string;
  payload: string;
  idempotency_key: string | null;
  state: string;
  attempts: Generated<number>;
  /** Claims of this job that ended because its worker died (lease expired), not by the handler. */
  interruptions: Generated<number>;
  max_attempts: number;
  run_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  /** Set while the job is parked until an event wakes it (e.g. `provider-slot:<entry>`). */
  waiting_for: string | null;
  /** Set when `wake` asks a job that a worker holds between runs to run now (see `JobQueue.takeWoken`). */
  woken_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface CallbackDeliveriesTable {
  id: string;
  task_id: string;
  api_key_id: string;
  url: string;
  event: string;
  state: string;
  round: Generated<number>;
  attempts_in_round: Generated<number>;
  next_attempt_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

export interface CallbackAttemptsTable {
  id: string;
  delivery_id: string;
  round: number;
  number: number;
  attempted_at: number;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  response_preview: string | null;
}

export interface ServiceSettingsTable {
  name: string;
  value: string;
  updated_at: number;
}

export interface ApiKeyBalancesTable {
  api_key_id: string;
  balance: number;
}

export interface Database {
  api_keys: ApiKeysTable;
  ledger_entries: LedgerEntriesTable;
  tasks: TasksTable;
  jobs: JobsTable;
  callback_deliveries: CallbackDeliveriesTable;
  callback_attempts: CallbackAttemptsTable;
  service_settings: ServiceSettingsTable;
  api_key_balances: ApiKeyBalancesTable;
  inbound_webhooks: InboundWebhooksTable;
  retired_key_hashes: RetiredKeyHashesTable;
  idempotency_keys: IdempotencyKeysTable;
  rate_admissions: RateAdmissionsTable;
  provider_gates: ProviderGatesTable;
}

/** One admission under a rate limit, counted while it is inside its window. */
export interface RateAdmissionsTable {
  id: string;
  window_key: string;
  admitted_at: number;
  expires_at: number;
}

/** A provider entry's request tokens and circuit breaker, shared by every process. */
export interface ProviderGatesTable {
  entry: string;
  tokens: number;
  refilled_at: number;
  failures: number;
  open_until: number;
  trial_until: number | null;
  last_failure: string | null;
  updated_at: number;
}

export interface RetiredKeyHashesTable {
  key_hash: string;
  api_key_id: string;
  retired_at: number;
}

export interface IdempotencyKeysTable {
  api_key_id: string;
  idempotency_key: string;
  fingerprint: string;
  task_id: string;
  created_at: number;
}

export interface InboundWebhooksTable {
  id: string;
  source: string;
  received_at: number;
}
