import type { Task } from '../../domain/task.js';
import { GroupedCalls } from '../../jobs/grouped-calls.js';
import type { TaskStore } from '../../ports/task-store.js';

/** The most lookups one query answers (what `findManyById` puts in one statement). */
const MAX_GROUP = 256;

/**
 * Reads tasks by id for the polls: the lookups asked for together (the polls that fall due
 * together, and those launched as the answers of others arrive) go to the database as one query.
 * Each answer is what a lone `findById` at that moment would have read; a lone lookup is one.
 */
export class TaskBatchReader {
  private readonly lookups: GroupedCalls<string, Task | undefined>;

  constructor(tasks: Pick<TaskStore, 'findById' | 'findManyById'>) {
    this.lookups = new GroupedCalls(
      async (ids) => {
        if (ids.length === 1) return [await tasks.findById(ids[0]!)];
        const found = new Map<string, Task>();
        for (const task of await tasks.findManyById(ids)) found.set(task.id, task);
        return ids.map((id) => found.get(id));
      },
      { maxGroup: MAX_GROUP, inFlight: 4 },
    );
  }

  find(id: string): Promise<Task | undefined> {
    return this.lookups.call(id);
  }
}
