import pg from 'pg';
import { type JobRow, readDatabase, readSnapshot, type Snapshot } from './chaos-invariants.js';

/** A job holding a live lease right now, and the worker that holds it. */
export interface LiveJob {
  readonly id: string;
  readonly payload: string;
  readonly leaseOwner: string;
}

/**
 * What the chaos invariants read from Segue's database, from outside the server (as an operator
 * would), on either engine: SQLite in a data directory, or PostgreSQL at a URL. The rows come back
 * in the same shape on both (PostgreSQL's bigint columns as numbers), so `chaos-invariants.ts`
 * checks them alike.
 */
export interface ChaosDatabase {
  /** The key's tasks and deliveries, and every job (the database belongs to the run). */
  snapshot(apiKeyId: string): Promise<Snapshot>;
  /** The jobs of `kind` whose lease is live (a killed worker's stay "running" until theirs runs out). */
  liveJobs(kind: string): Promise<LiveJob[]>;
  /** Every blob key a task of any key points at: result files, render manifest, imported source. */
  referencedBlobKeys(): Promise<Set<string>>;
  close(): Promise<void>;
}

interface BlobColumns {
  video_key: string | null;
  segment_key: string | null;
  poster_key: string | null;
  provider_handle: string | null;
  parameters: string;
}

const blobColumns = 'select video_key, segment_key, poster_key, provider_handle, parameters from tasks';

function keysOf(rows: readonly BlobColumns[]): Set<string> {
  const keys = new Set<string>();
  for (const row of rows) {
    for (const key of [row.video_key, row.segment_key, row.poster_key]) if (key) keys.add(key);
    const handle = row.provider_handle ? (JSON.parse(row.provider_handle) as { manifestKey?: unknown }) : null;
    if (typeof handle?.manifestKey === 'string') keys.add(handle.manifestKey);
    const { sourceVideoKey } = JSON.parse(row.parameters) as { sourceVideoKey?: unknown };
    if (typeof sourceVideoKey === 'string') keys.add(sourceVideoKey);
  }
  return keys;
}

const liveJobsQuery = (placeholder: (index: number) => string) =>
  `select id, payload, lease_owner from jobs where kind = ${placeholder(1)} and state = 'running' and lease_expires_at > ${placeholder(2)} order by id`;

/** The SQLite database in `dataDir`, opened read-only for each read. */
export function sqliteChaosDatabase(dataDir: string): ChaosDatabase {
  return {
    snapshot: async (apiKeyId) => readSnapshot(dataDir, apiKeyId),
    liveJobs: async (kind) =>
      readDatabase(dataDir, (database) =>
        (database.prepare(liveJobsQuery(() => '?')).all(kind, Date.now()) as Array<{ id: string; payload: string; lease_owner: string }>).map(
          (row) => ({ id: row.id, payload: row.payload, leaseOwner: row.lease_owner }),
        ),
      ),
    referencedBlobKeys: async () => readDatabase(dataDir, (database) => keysOf(database.prepare(blobColumns).all() as BlobColumns[])),
    close: async () => {},
  };
}

/** PostgreSQL's int8 (bigint) comes back as text by default; every bigint Segue stores is a safe integer. */
const INT8_OID = 20;

/** The PostgreSQL database at `url`, read through a small pool of its own. */
export function postgresChaosDatabase(url: string): ChaosDatabase {
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser },
  });
  // A dropped connection (the database going away at the end of a run) must not crash the test process.
  pool.on('error', () => {});
  const rows = async <T>(text: string, values: unknown[] = []): Promise<T[]> => (await pool.query(text, values)).rows as T[];
  return {
    async snapshot(apiKeyId) {
      const [tasks, jobs, deliveries] = await Promise.all([
        rows<Snapshot['tasks'][number]>('select * from tasks where api_key_id = $1 order by created_at, id', [apiKeyId]),
        rows<JobRow>('select * from jobs order by created_at, id'),
        rows<Snapshot['deliveries'][number]>('select id, task_id, state from callback_deliveries where api_key_id = $1', [apiKeyId]),
      ]);
      return { tasks, jobs, deliveries };
    },
    liveJobs: async (kind) =>
      (await rows<{ id: string; payload: string; lease_owner: string }>(liveJobsQuery((index) => `$${index}`), [kind, Date.now()])).map((row) => ({
        id: row.id,
        payload: row.payload,
        leaseOwner: row.lease_owner,
      })),
    referencedBlobKeys: async () => keysOf(await rows<BlobColumns>(blobColumns)),
    close: () => pool.end(),
  };
}
