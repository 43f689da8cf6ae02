import type { Task, TaskState } from '../domain/task.js';
import type { TaskLifecycle } from '../engine/lifecycle/task-lifecycle.js';
import type { Storage } from '../ports/storage.js';

/** What operators do to tasks (admin API, CLI): look them up by state, settle reconciliation. */
export class OperatorService {
  constructor(
    private readonly storage: Storage,
    private readonly lifecycle: TaskLifecycle,
  ) {}

  /** Tasks in a state, oldest first. */
  async tasksIn(state: TaskState, limit: number): Promise<Task[]> {
    return this.storage.tasks.listByState(state, limit);
  }

  /** Ends a task stuck in reconciliation: `refund` releases its credits, `charge` keeps them. */
  async settle(taskId: string, how: 'refund' | 'charge'): Promise<boolean> {
    return this.lifecycle.settleReconciling(taskId, how);
  }
}
