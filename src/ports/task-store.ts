import type { ExtensionPlan, Operation, Task, TaskFailure, TaskPinning, TaskResult, TaskState, UpstreamOutput } from '../domain/task.js';

/** The change a state transition writes together with the new state. */
export interface TaskTransition {
  readonly to: TaskState;
  readonly at: number;
  readonly progress?: number;
  readonly result?: TaskResult;
  readonly failure?: TaskFailure;
  readonly engineDetails?: Readonly<Record<string, unknown>>;
}

/** One page of a key's tasks: its size, its order (newest first unless `asc`), and the task the page starts after. */
export interface TaskPage {
  readonly limit: number;
  readonly order?: 'asc' | 'desc';
  readonly after?: Pick<Task, 'id' | 'createdAt'>;
}

/** What a listing across keys may be narrowed to (the dashboard's filters). */
export interface TaskFilter {
  /** Only this key's tasks (its deleted ones excluded); every key's, deleted included, when absent. */
  readonly apiKeyId?: string;
  /** Only tasks in one of these states (every state when absent or empty). */
  readonly states?: readonly TaskState[];
  readonly operation?: Operation;
}

/** Persistence of tasks. Every state change is a compare-and-set on the previous state. */
export interface TaskStore {
  insert(task: Task): Promise<void>;
  findById(id: string): Promise<Task | undefined>;
  /** The tasks among `ids` that exist, in no particular order: one query for many (the polls that fall due together). */
  findManyById(ids: readonly string[]): Promise<Task[]>;
  /** The task if it exists and belongs to this API key; a foreign or deleted task is not found. */
  findOwned(id: string, apiKeyId: string): Promise<Task | undefined>;
  /**
   * The task if it belongs to the active key with this hash: authentication and lookup in one
   * query, for the routes clients poll. Undefined tells neither which part failed (a deleted
   * task is not found either).
   */
  findOwnedByKeyHash(id: string, keyHash: string): Promise<Task | undefined>;
  /**
   * A key's tasks but the deleted ones, newest first (by creation time, then id) or oldest first,
   * at most `limit`; with `after`, only those that come after that task in this order (cursor
   * paging by task id).
   */
  listOwned(apiKeyId: string, page: TaskPage): Promise<Task[]>;
  /** Tasks matching the filter, newest first (or oldest first), at most `limit`, after `after` as `listOwned`. */
  listFiltered(filter: TaskFilter, page: TaskPage): Promise<Task[]>;
  /** The tasks that continue this one (its extensions and upgrades) but the deleted ones, oldest first. */
  listChildren(parentTaskId: string): Promise<Task[]>;
  /**
   * Hides the task from its key's reads from now on (the row stays, for the ledger and
   * operators); false when it is not this key's or already deleted.
   */
  markDeleted(id: string, apiKeyId: string, at: number): Promise<boolean>;
  /** Whether an unfinished task (an extension, an upgrade) continues this one. */
  hasUnfinishedChildren(parentTaskId: string): Promise<boolean>;
  /** How many tasks of a key are not finished (queued, running or reconciling). */
  countUnfinished(apiKeyId: string): Promise<number>;
  /** How many tasks are queued, running or reconciling, by state and provider entry (for metrics). */
  countUnfinishedByProvider(): Promise<Array<{ readonly state: TaskState; readonly provider: string; readonly count: number }>>;
  /** Tasks in a state, oldest first (operators' views, sweeps). */
  listByState(state: TaskState, limit: number): Promise<Task[]>;
  /** The child a task has from this operation (e.g. its 1080p upgrade), if any. */
  findChild(parentTaskId: string, operation: Operation): Promise<Task | undefined>;
  /** Moves the task from `from` to `transition.to`; false when it was no longer in `from`. */
  transition(id: string, from: TaskState, transition: TaskTransition): Promise<boolean>;
  /** Records the provider's opaque operation handle and, for providers that pin, what the task runs on. */
  saveProviderHandle(id: string, handle: unknown, pinning?: TaskPinning): Promise<void>;
  /**
   * Takes a slot on provider entry `to` for a task that no upstream has accepted yet (no handle),
   * now on entry `from` (queued, or running there and falling back): it becomes running on `to` if
   * fewer than `maxConcurrent` tasks run there. The per-entry concurrency limit, counted in the
   * database so that every worker process obeys it. False if full, or if the task moved meanwhile.
   */
  claimSlot(id: string, move: { readonly from: string; readonly to: string }, maxConcurrent: number, at: number): Promise<boolean>;
  /** Whether any task (of any key, deleted or not) names this stored upload as its source video. */
  usesSourceVideo(blobKey: string): Promise<boolean>;
  /** Records the method an extension runs with on its (new) entry, and why. */
  saveExtensionPlan(id: string, plan: ExtensionPlan): Promise<void>;
  /** Records the upstream's own copy of the result, before Segue takes custody of it. */
  saveUpstreamOutput(id: string, output: UpstreamOutput): Promise<void>;
  /** Records progress (0–100) while running; progress never goes backwards. */
  saveProgress(id: string, progress: number): Promise<void>;
}
