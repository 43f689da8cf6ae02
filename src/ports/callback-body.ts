import type { Task } from '../domain/task.js';

/**
 * The body of a task's callback, as the dialect that took the task shapes it (the Veo dialect's
 * `{code, msg, data}` today; each dialect that accepts callback URLs brings its own). Callback
 * delivery signs and sends what this answers and knows no dialect.
 */
export type CallbackBody = (task: Task) => Promise<unknown>;
