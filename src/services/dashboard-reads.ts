import { NotFoundError } from '../domain/errors.js';
import type { Operation, Task, TaskState } from '../domain/task.js';
import type { CallbackAttempt, CallbackDelivery } from '../ports/callback-outbox.js';
import type { ApiKeyRecord } from '../ports/key-store.js';
import type { LedgerEntry } from '../ports/ledger.js';
import type { Storage } from '../ports/storage.js';
import type { CallbackService } from './callback-service.js';
import type { KeyService } from './key-service.js';

/**
 * Who is looking: a tenant (an API key) sees its own tasks and nothing else; the operator (the
 * admin key) sees every key's. Every read of the dashboard goes through here, so this is the one
 * place that draws the line.
 */
export type Viewer = { readonly role: 'tenant'; readonly key: ApiKeyRecord } | { readonly role: 'operator' };

/** The dashboard's task filters. */
export interface DashboardTaskQuery {
  readonly limit: number;
  readonly after?: string;
  readonly states?: readonly TaskState[];
  readonly operation?: Operation;
  /** Operators only: one key's tasks. */
  readonly apiKeyId?: string;
}

/** The longest chain of extensions walked up or down (a video stops being extendable well before). */
const MAX_LINEAGE = 64;

/** The dashboard's reads and its one write (sending a callback again), scoped by viewer. */
export class DashboardReads {
  constructor(
    private readonly storage: Storage,
    private readonly keys: KeyService,
    private readonly callbacks: CallbackService,
  ) {}

  /** A page of tasks, newest first; `next` is the `after` of the next page. */
  async listTasks(viewer: Viewer, query: DashboardTaskQuery): Promise<{ tasks: Task[]; next: string | null }> {
    const apiKeyId = viewer.role === 'tenant' ? viewer.key.id : query.apiKeyId;
    const after = query.after === undefined ? undefined : await this.task(viewer, query.after);
    const found = await this.storage.tasks.listFiltered(
      { ...(apiKeyId !== undefined ? { apiKeyId } : {}), ...(query.states ? { states: query.states } : {}), ...(query.operation ? { operation: query.operation } : {}) },
      { limit: query.limit + 1, ...(after ? { after } : {}) },
    );
    const tasks = found.slice(0, query.limit);
    return { tasks, next: found.length > query.limit ? tasks[tasks.length - 1]!.id : null };
  }

  /** One task the viewer may see; an unknown and a foreign task are both NotFound. */
  async task(viewer: Viewer, taskId: string): Promise<Task> {
    const task = viewer.role === 'tenant' ? await this.storage.tasks.findOwned(taskId, viewer.key.id) : await this.storage.tasks.findById(taskId);
    if (!task) throw new NotFoundError('no such task');
    return task;
  }

  /**
   * The chain a task belongs to, oldest first: the videos it extends (up to the first), the task,
   * then what continues it (extensions and upgrades, breadth first). A tenant sees only its own.
   */
  async lineage(viewer: Viewer, taskId: string): Promise<Task[]> {
    const task = await this.task(viewer, taskId);
    const ancestors: Task[] = [];
    for (let parentId = task.parentTaskId; parentId !== null && ancestors.length < MAX_LINEAGE; ) {
      const parent = await this.task(viewer, parentId).catch(() => undefined);
      if (!parent) break;
      ancestors.unshift(parent);
      parentId = parent.parentTaskId;
    }
    const visible = (candidate: Task) => viewer.role === 'operator' || candidate.apiKeyId === viewer.key.id;
    const descendants: Task[] = [];
    for (let frontier = [task]; frontier.length > 0 && descendants.length < MAX_LINEAGE; ) {
      frontier = (await Promise.all(frontier.map((parent) => this.storage.tasks.listChildren(parent.id)))).flat().filter(visible);
      descendants.push(...frontier.slice(0, MAX_LINEAGE - descendants.length));
    }
    return [...ancestors, task, ...descendants];
  }

  /** A task's callback deliveries, each with every attempt. */
  async callbacksOf(viewer: Viewer, taskId: string): Promise<Array<CallbackDelivery & { attempts: CallbackAttempt[] }>> {
    const task = await this.task(viewer, taskId);
    return this.callbacks.listForTask(task.id, task.apiKeyId);
  }

  /** Sends a finished delivery again (a tenant only its own). */
  async redeliver(viewer: Viewer, deliveryId: string): Promise<CallbackDelivery> {
    if (viewer.role === 'tenant') return this.callbacks.redeliver(deliveryId, viewer.key.id);
    const delivery = await this.storage.callbacks.find(deliveryId);
    if (!delivery) throw new NotFoundError('delivery not found');
    return this.callbacks.redeliver(deliveryId, delivery.apiKeyId);
  }

  /** A tenant's balance and ledger, newest first. */
  async account(key: ApiKeyRecord, limit: number): Promise<{ balance: number; entries: LedgerEntry[] }> {
    const [balance, entries] = await Promise.all([this.keys.balance(key.id), this.keys.history(key.id, limit)]);
    return { balance, entries };
  }
}
