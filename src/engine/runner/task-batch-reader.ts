import type { Task } from '../../domain/task.js';
import type { TaskStore } from '../../ports/task-store.js';

interface Waiting {
  readonly id: string;
  readonly resolve: (task: Task | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Reads tasks by id for the polls: the lookups asked for in one turn of the event loop (the polls
 * that fall due together, and those launched as the answers of others arrive) go to the database
 * as one query. Each answer is what a lone `findById` at that moment would have read.
 */
export class TaskBatchReader {
  private waiting: Waiting[] = [];

  constructor(private readonly tasks: Pick<TaskStore, 'findById' | 'findManyById'>) {}

  find(id: string): Promise<Task | undefined> {
    return new Promise((resolve, reject) => {
      if (this.waiting.push({ id, resolve, reject }) === 1) setImmediate(() => void this.readWaiting());
    });
  }

  private async readWaiting(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    try {
      if (batch.length === 1) {
        batch[0]!.resolve(await this.tasks.findById(batch[0]!.id));
        return;
      }
      const found = new Map<string, Task>();
      for (const task of await this.tasks.findManyById(batch.map((entry) => entry.id))) found.set(task.id, task);
      for (const entry of batch) entry.resolve(found.get(entry.id));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }
}
