import type { Task } from '../domain/task.js';
import type { ReadChanges } from '../ports/storage.js';

/** Records kept at most (the oldest goes first): a few kilobytes each. */
const KEPT_RECORDS_LIMIT = 10_000;

interface KeptRecord {
  readonly record: unknown;
  readonly version: number;
  readonly linkWindow: number;
}

/**
 * The presented records of finished tasks, kept per view (a dialect's route), key and task: a
 * task that has ended never changes, so clients polling it are answered without the database.
 * A record is good while nothing changed a key or a finished task anywhere (`ReadChanges`: a
 * revoked key or a deleted task drops it) and while the links it carries are the ones a fresh
 * answer would carry (`linkWindow`, e.g. the expiry every link signed now gets: once it moves,
 * a kept link would be shorter-lived than a new one). Unfinished tasks are never kept.
 */
export class FinishedTaskRecords {
  private readonly records = new Map<string, KeptRecord>();

  constructor(
    private readonly changes: ReadChanges,
    private readonly linkWindow: () => number,
  ) {}

  /**
   * The kept record of the view of a task for the key, while it is good, answered at once;
   * undefined when none is (then ask `answer`).
   */
  kept<T>(view: string, apiKeyId: string, taskId: string): T | undefined {
    return this.keptRecord<T>(recordName(view, apiKeyId, taskId), this.changes.version(), this.linkWindow());
  }

  /**
   * The record of the view of a task that the key owns: kept, or `load`ed (which checks the
   * ownership and throws for a task the key may not see) and `present`ed, and kept if finished.
   */
  async answer<T>(view: string, apiKeyId: string, taskId: string, load: () => Promise<Task>, present: (task: Task) => Promise<T> | T): Promise<T> {
    // Read before the task: a change committed after this read moves the version past what is kept.
    const version = this.changes.version();
    const linkWindow = this.linkWindow();
    const name = recordName(view, apiKeyId, taskId);
    const kept = this.keptRecord<T>(name, version, linkWindow);
    if (kept !== undefined) return kept;
    const task = await load();
    const record = await present(task);
    this.records.delete(name);
    if (version !== undefined && (task.state === 'succeeded' || task.state === 'failed')) {
      if (this.records.size >= KEPT_RECORDS_LIMIT) this.records.delete(this.records.keys().next().value!);
      this.records.set(name, { record, version, linkWindow });
    }
    return record;
  }

  private keptRecord<T>(name: string, version: number | undefined, linkWindow: number): T | undefined {
    const kept = this.records.get(name);
    return kept && version !== undefined && kept.version === version && kept.linkWindow === linkWindow ? (kept.record as T) : undefined;
  }
}

const recordName = (view: string, apiKeyId: string, taskId: string) => `${view}\n${apiKeyId}\n${taskId}`;
