import { type Kysely, type Selectable, sql } from 'kysely';
import { canTransition, withParameterDefaults, type ExtendMethod, type ExtensionPlan, type FailureReason, type FailureStage, type Operation, type Task, type TaskPinning, type TaskState, type UpstreamOutput } from '../domain/task.js';
import type { TaskFilter, TaskPage, TaskStore, TaskTransition } from '../ports/task-store.js';
import type { Database, TasksTable } from './database-schema.js';
import type { StorageDialect } from './storage-dialect.js';
import { ReusableQuery } from './reusable-query.js';

type TaskRow = Selectable<TasksTable>;

function parseJson(text: string | null): any {
  return text === null ? null : JSON.parse(text);
}

export function toTask(row: TaskRow): Task {
  const result =
    row.video_key && row.poster_key
      ? {
          videoKey: row.video_key,
          segmentKey: row.segment_key,
          posterKey: row.poster_key,
          durationSeconds: Number(row.duration_seconds),
          width: Number(row.width),
          height: Number(row.height),
          fps: Number(row.fps),
          hasAudio: Boolean(row.has_audio),
        }
      : null;
  const failure =
    row.failure_stage && row.failure_reason
      ? {
          stage: row.failure_stage as FailureStage,
          reason: row.failure_reason as FailureReason,
          message: row.error_message ?? '',
        }
      : null;
  return {
    id: row.id,
    apiKeyId: row.api_key_id,
    operation: row.operation as Operation,
    parentTaskId: row.parent_task_id,
    rootTaskId: row.root_task_id,
    dialect: row.dialect,
    parameters: withParameterDefaults(parseJson(row.parameters)),
    requestEcho: parseJson(row.request_echo),
    seed: Number(row.seed),
    price: Number(row.price),
    callbackUrl: row.callback_url,
    provider: row.provider,
    providerRoute: parseJson(row.provider_route) ?? [row.provider],
    providerHandle: parseJson(row.provider_handle),
    extension: row.extend_method === null ? null : { method: row.extend_method as ExtendMethod, reason: row.extend_reason ?? '', lesser: Number(row.extend_lesser) === 1 },
    upstreamOutput:
      row.upstream_output_uri === null ? null : { uri: row.upstream_output_uri, createdAt: Number(row.upstream_output_created_at) },
    ...(row.pinned_entry !== null && row.pinned_credential !== null && row.pinned_model !== null
      ? { pinning: { entry: row.pinned_entry, credential: row.pinned_credential, region: row.pinned_region, upstreamModel: row.pinned_model } }
      : {}),
    state: row.state as TaskState,
    progress: Number(row.progress),
    failure,
    result,
    engineDetails: parseJson(row.engine_details),
    createdAt: Number(row.created_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}

/** The most ids `findManyById` puts in one query. */
const MAX_IDS_PER_QUERY = 256;

/** Lookups on the polling path, compiled once per process. */
function lookups(db: Kysely<Database>) {
  const manyById: Record<number, ReusableQuery<string[], TaskRow>> = {};
  return {
    byId: new ReusableQuery((id: string) => db.selectFrom('tasks').selectAll().where('id', '=', id)),
    /** `findManyById`'s query for `count` ids (a power of two), compiled once per count. */
    byIds: (count: number) => (manyById[count] ??= new ReusableQuery((...ids: string[]) => db.selectFrom('tasks').selectAll().where('id', 'in', ids))),
    owned: new ReusableQuery((id: string, apiKeyId: string) =>
      db.selectFrom('tasks').selectAll().where('id', '=', id).where('api_key_id', '=', apiKeyId).where('deleted_at', 'is', null),
    ),
    ownedByKeyHash: new ReusableQuery((id: string, keyHash: string) =>
      db
        .selectFrom('tasks')
        .innerJoin('api_keys', 'api_keys.id', 'tasks.api_key_id')
        .selectAll('tasks')
        .where('tasks.id', '=', id)
        .where('tasks.deleted_at', 'is', null)
        .where('api_keys.key_hash', '=', keyHash)
        .where('api_keys.revoked_at', 'is', null),
    ),
  };
}

/** TaskStore over Kysely; works on any executor (the database or an open transaction). */
export class SqlTaskStore implements TaskStore {
  private readonly lookups: ReturnType<typeof lookups>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: StorageDialect,
    private readonly now: () => number = Date.now,
  ) {
    this.lookups = lookups(db);
  }

  async insert(task: Task): Promise<void> {
    await this.db
      .insertInto('tasks')
      .values({
        id: task.id,
        api_key_id: task.apiKeyId,
        operation: task.operation,
        parent_task_id: task.parentTaskId,
        root_task_id: task.rootTaskId,
        dialect: task.dialect,
        parameters: JSON.stringify(task.parameters),
        request_echo: JSON.stringify(task.requestEcho),
        seed: task.seed,
        price: task.price,
        callback_url: task.callbackUrl,
        provider: task.provider,
        provider_route: JSON.stringify(task.providerRoute),
        provider_handle: task.providerHandle === null ? null : JSON.stringify(task.providerHandle),
        extend_method: task.extension?.method ?? null,
        extend_reason: task.extension?.reason ?? null,
        extend_lesser: task.extension?.lesser ? 1 : 0,
        state: task.state,
        progress: task.progress,
        created_at: task.createdAt,
        updated_at: task.createdAt,
      })
      .execute();
  }

  async findById(id: string): Promise<Task | undefined> {
    const [row] = await this.lookups.byId.rows(this.db, id);
    return row ? toTask(row) : undefined;
  }

  async findManyById(ids: readonly string[]): Promise<Task[]> {
    const tasks: Task[] = [];
    const unique = [...new Set(ids)];
    for (let start = 0; start < unique.length; start += MAX_IDS_PER_QUERY) {
      const chunk = unique.slice(start, start + MAX_IDS_PER_QUERY);
      // Padded to a power of two (repeating an id): a few SQL texts serve every size, and stay prepared.
      const padded = chunk.concat(new Array<string>(2 ** Math.ceil(Math.log2(chunk.length)) - chunk.length).fill(chunk[0]!));
      const rows = await this.lookups.byIds(padded.length).rows(this.db, ...padded);
      for (const row of rows) tasks.push(toTask(row));
    }
    return tasks;
  }

  async findOwned(id: string, apiKeyId: string): Promise<Task | undefined> {
    const [row] = await this.lookups.owned.rows(this.db, id, apiKeyId);
    return row ? toTask(row) : undefined;
  }

  async findOwnedByKeyHash(id: string, keyHash: string): Promise<Task | undefined> {
    const [row] = await this.lookups.ownedByKeyHash.rows(this.db, id, keyHash);
    return row ? toTask(row) : undefined;
  }

  async listOwned(apiKeyId: string, page: TaskPage): Promise<Task[]> {
    const { after } = page;
    const direction = page.order === 'asc' ? 'asc' : 'desc';
    const beyond = direction === 'asc' ? '>' : '<';
    const rows = await this.db
      .selectFrom('tasks')
      .selectAll()
      .where('api_key_id', '=', apiKeyId)
      .where('deleted_at', 'is', null)
      .$if(after !== undefined, (query) =>
        query.where((eb) =>
          eb.or([eb('created_at', beyond, after!.createdAt), eb.and([eb('created_at', '=', after!.createdAt), eb('id', beyond, after!.id)])]),
        ),
      )
      .orderBy('created_at', direction)
      .orderBy('id', direction)
      .limit(page.limit)
      .execute();
    return rows.map(toTask);
  }

  async listFiltered(filter: TaskFilter, page: TaskPage): Promise<Task[]> {
    const { after } = page;
    const { apiKeyId, states, operation } = filter;
    const direction = page.order === 'asc' ? 'asc' : 'desc';
    const beyond = direction === 'asc' ? '>' : '<';
    const rows = await this.db
      .selectFrom('tasks')
      .selectAll()
      .$if(apiKeyId !== undefined, (query) => query.where('api_key_id', '=', apiKeyId!).where('deleted_at', 'is', null))
      .$if(states !== undefined && states.length > 0, (query) => query.where('state', 'in', [...states!]))
      .$if(operation !== undefined, (query) => query.where('operation', '=', operation!))
      .$if(after !== undefined, (query) =>
        query.where((eb) =>
          eb.or([eb('created_at', beyond, after!.createdAt), eb.and([eb('created_at', '=', after!.createdAt), eb('id', beyond, after!.id)])]),
        ),
      )
      .orderBy('created_at', direction)
      .orderBy('id', direction)
      .limit(page.limit)
      .execute();
    return rows.map(toTask);
  }

  async listChildren(parentTaskId: string): Promise<Task[]> {
    const rows = await this.db.selectFrom('tasks').selectAll().where('parent_task_id', '=', parentTaskId).where('deleted_at', 'is', null).orderBy('created_at').orderBy('id').execute();
    return rows.map(toTask);
  }

  async markDeleted(id: string, apiKeyId: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('tasks')
      .set({ deleted_at: at, updated_at: at })
      .where('id', '=', id)
      .where('api_key_id', '=', apiKeyId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async hasUnfinishedChildren(parentTaskId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('tasks')
      .select('id')
      .where('parent_task_id', '=', parentTaskId)
      .where('state', 'in', ['queued', 'running', 'reconciling'])
      .executeTakeFirst();
    return row !== undefined;
  }

  async countUnfinished(apiKeyId: string): Promise<number> {
    const row = await this.db
      .selectFrom('tasks')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('api_key_id', '=', apiKeyId)
      .where('state', 'in', ['queued', 'running', 'reconciling'])
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async countUnfinishedByProvider(): Promise<Array<{ readonly state: TaskState; readonly provider: string; readonly count: number }>> {
    const rows = await this.db
      .selectFrom('tasks')
      .select((eb) => ['state', 'provider', eb.fn.countAll().as('count')])
      .where('state', 'in', ['queued', 'running', 'reconciling'])
      .groupBy(['state', 'provider'])
      .execute();
    return rows.map((row) => ({ state: row.state as TaskState, provider: row.provider, count: Number(row.count) }));
  }

  async listByState(state: TaskState, limit: number): Promise<Task[]> {
    const rows = await this.db.selectFrom('tasks').selectAll().where('state', '=', state).orderBy('created_at').limit(limit).execute();
    return rows.map(toTask);
  }

  async findChild(parentTaskId: string, operation: Operation): Promise<Task | undefined> {
    const row = await this.db
      .selectFrom('tasks')
      .selectAll()
      .where('parent_task_id', '=', parentTaskId)
      .where('operation', '=', operation)
      .orderBy('created_at')
      .executeTakeFirst();
    return row ? toTask(row) : undefined;
  }

  async transition(id: string, from: TaskState, change: TaskTransition): Promise<boolean> {
    if (!canTransition(from, change.to)) throw new Error(`illegal task transition ${from} → ${change.to}`);
    const result = await this.db
      .updateTable('tasks')
      .set({
        state: change.to,
        updated_at: change.at,
        ...(change.to === 'running' ? { started_at: change.at } : {}),
        ...(change.to === 'succeeded' || change.to === 'failed' ? { finished_at: change.at } : {}),
        ...(change.progress !== undefined ? { progress: change.progress } : {}),
        ...(change.result
          ? {
              video_key: change.result.videoKey,
              segment_key: change.result.segmentKey,
              poster_key: change.result.posterKey,
              duration_seconds: change.result.durationSeconds,
              width: change.result.width,
              height: change.result.height,
              fps: change.result.fps,
              has_audio: change.result.hasAudio ? 1 : 0,
            }
          : {}),
        ...(change.failure
          ? {
              failure_stage: change.failure.stage,
              failure_reason: change.failure.reason,
              error_message: change.failure.message,
            }
          : {}),
        ...(change.engineDetails ? { engine_details: JSON.stringify(change.engineDetails) } : {}),
      })
      .where('id', '=', id)
      .where('state', '=', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async saveProviderHandle(id: string, handle: unknown, pinning?: TaskPinning): Promise<void> {
    const pinned = pinning
      ? { pinned_entry: pinning.entry, pinned_credential: pinning.credential, pinned_region: pinning.region, pinned_model: pinning.upstreamModel }
      : {};
    await this.db
      .updateTable('tasks')
      .set({ provider_handle: JSON.stringify(handle), ...pinned, updated_at: this.now() })
      .where('id', '=', id)
      .execute();
  }

  async claimSlot(id: string, move: { readonly from: string; readonly to: string }, maxConcurrent: number, at: number): Promise<boolean> {
    // Counting and taking are serialised per entry, so two workers cannot both take the last slot.
    const result = await this.dialect.serialized(this.db, `provider-slots:${move.to}`, (executor) =>
      executor
      .updateTable('tasks')
      .set({ state: 'running', provider: move.to, started_at: at, updated_at: at })
      .where('id', '=', id)
      .where('provider', '=', move.from)
      .where('provider_handle', 'is', null)
      .where('state', 'in', ['queued', 'running'])
      .where((eb) =>
        eb(
          eb.selectFrom('tasks as running').select((inner) => inner.fn.countAll().as('count')).where('running.provider', '=', move.to).where('running.state', '=', 'running'),
          '<',
          maxConcurrent,
        ),
      )
      .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async usesSourceVideo(blobKey: string): Promise<boolean> {
    // Parameters are JSON text: the key appears as one exact string value.
    const pattern = `%${JSON.stringify({ sourceVideoKey: blobKey }).slice(1, -1).replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    const row = await this.db
      .selectFrom('tasks')
      .select('id')
      .where(sql<boolean>`parameters like ${pattern} escape '\\'`)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async saveExtensionPlan(id: string, plan: ExtensionPlan): Promise<void> {
    await this.db.updateTable('tasks').set({ extend_method: plan.method, extend_reason: plan.reason, extend_lesser: plan.lesser ? 1 : 0 }).where('id', '=', id).execute();
  }

  async saveUpstreamOutput(id: string, output: UpstreamOutput): Promise<void> {
    await this.db
      .updateTable('tasks')
      .set({ upstream_output_uri: output.uri, upstream_output_created_at: output.createdAt, updated_at: this.now() })
      .where('id', '=', id)
      .execute();
  }

  async saveProgress(id: string, progress: number): Promise<void> {
    await this.db
      .updateTable('tasks')
      .set({ progress: Math.max(0, Math.min(99, Math.round(progress))), updated_at: this.now() })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('progress', '<', Math.round(progress))
      .execute();
  }
}
