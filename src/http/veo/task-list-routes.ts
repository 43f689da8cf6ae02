import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Task } from '../../domain/task.js';
import type { TaskService } from '../../services/task-service.js';
import { apiKeyOf, POLLED_ROUTE, sendOwnedTask } from '../auth.js';
import type { FinishedTaskRecords } from '../../services/finished-task-records.js';
import type { VeoPresenter } from './veo-presenter.js';
import { taskPathParams } from './veo-requests.js';
import { routeDocs } from '../openapi.js';

const once = (name: string) =>
  z.string({ error: (issue) => (Array.isArray(issue.input) ? `${name} must be given once` : `${name} must be text`) });

const limitMessage = 'limit must be a whole number from 1 to 100';

/** `GET /api/v1/tasks?limit=&after=`. */
const listQuerySchema = z.object({
  limit: once('limit').regex(/^\d{1,3}$/, limitMessage).transform(Number).pipe(z.number().min(1, limitMessage).max(100, limitMessage)).optional(),
  after: once('after').trim().min(1, 'after must be a task id').max(128, 'after is too long').optional(),
});

const success = (data: unknown) => ({ code: 200, msg: 'success', data });

function detail(task: Task, name: string): string | null {
  const value = task.engineDetails?.[name];
  return typeof value === 'string' ? value : null;
}

/**
 * Segue's own view of a task: record-info's fields, plus what record-info cannot say — the
 * operation, the state (a reconciling task is still running to its client), progress, and how
 * the result was made (`engine`, `method`).
 */
export async function taskView(presenter: VeoPresenter, task: Task) {
  return {
    ...(await presenter.recordInfo(task)),
    operation: task.operation,
    model: task.parameters.model,
    parentTaskId: task.parentTaskId,
    state: task.state === 'reconciling' ? 'running' : task.state,
    progress: task.state === 'succeeded' ? 100 : task.progress,
    engine: detail(task, 'engine'),
    method: detail(task, 'method'),
  };
}

/**
 * Segue's task routes in the Veo scope (its envelope, its authentication): the key's own tasks,
 * newest first, paged by task id (`next` is the `after` of the next page), and one task.
 */
export function taskListRoutes(app: FastifyInstance, deps: { readonly tasks: TaskService; readonly records: FinishedTaskRecords; readonly presenter: VeoPresenter }): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get('/tasks', { ...POLLED_ROUTE, schema: { ...routeDocs.veo, summary: "The key's own tasks, newest first", querystring: listQuerySchema } }, async (request) => {
    const { limit = 20, after } = request.query;
    const page = await deps.tasks.listOwned(apiKeyOf(request), { limit, ...(after ? { after } : {}) });
    return success({ tasks: await Promise.all(page.tasks.map((task) => taskView(deps.presenter, task))), next: page.next });
  });

  const presentTask = async (task: Task) => success(await taskView(deps.presenter, task));
  routes.get('/tasks/:taskId', { ...POLLED_ROUTE, schema: { ...routeDocs.veo, summary: 'One task, with its state, progress and method', params: taskPathParams } }, (request, reply) =>
    sendOwnedTask(deps, request, reply, 'veo.task', request.params.taskId, presentTask),
  );
}
