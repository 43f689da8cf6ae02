import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ResultLinks } from '../../blobs/result-links.js';
import { ValidationError } from '../../domain/errors.js';
import type { Task, TaskState } from '../../domain/task.js';
import type { DashboardReads, Viewer } from '../../services/dashboard-reads.js';
import type { KeyService } from '../../services/key-service.js';
import type { ReadLimit } from '../../services/rate-limiter.js';
import { authenticateViewer, viewerOf } from '../auth.js';
import { readJsonBodies } from '../json-bodies.js';
import { routeDocs } from '../openapi.js';
import { plainJsonErrors } from '../plain-errors.js';
import { firstIssue } from '../schema-compilers.js';
import { dashboardTask, dashboardTaskView } from './dashboard-task-view.js';

export interface DashboardApiDependencies {
  readonly reads: DashboardReads;
  readonly keys: KeyService;
  readonly readLimit: ReadLimit;
  readonly links: ResultLinks;
  /** SEGUE_ADMIN_KEY: signing in with it makes the operator; without it there is none. */
  readonly adminKey: string | undefined;
}

const docs = (summary: string) => ({ ...routeDocs.dashboard, summary });
const once = z.string({ error: 'must be given once' });
/** What the state filter may name: `running` includes reconciling (a tenant never sees that word). */
const stateFilters: Record<string, readonly TaskState[]> = {
  queued: ['queued'],
  running: ['running', 'reconciling'],
  reconciling: ['reconciling'],
  succeeded: ['succeeded'],
  failed: ['failed'],
  unfinished: ['queued', 'running', 'reconciling'],
};
const tasksQuery = z.object({
  limit: once.regex(/^\d{1,3}$/, 'must be a whole number').transform((value) => Math.min(100, Math.max(1, Number(value)))).default(25),
  after: once.min(1).max(128).optional(),
  state: once.pipe(z.enum(Object.keys(stateFilters) as [string, ...string[]])).optional(),
  operation: once.pipe(z.enum(['generate', 'extend', 'upgrade_1080p', 'upgrade_4k'])).optional(),
  keyId: once.min(1).max(128).optional().meta({ description: "Operators only: one key's tasks (ignored for a tenant, who sees only its own)." }),
});
const idParams = z.object({ id: z.string().min(1).max(128) });
const ledgerQuery = z.object({
  limit: once.regex(/^\d{1,4}$/, 'must be a whole number').transform((value) => Math.min(1000, Math.max(1, Number(value)))).default(50),
});
const error = z.object({ error: z.string() });
const answers = <T extends z.ZodType>(ok: T) => ({ 200: ok, '4xx': error, '5xx': error });
const attempt = z.object({
  round: z.number(),
  number: z.number(),
  attemptedAt: z.string(),
  statusCode: z.number().nullable(),
  latencyMs: z.number(),
  error: z.string().nullable(),
  responsePreview: z.string().nullable(),
});
const delivery = z.object({
  id: z.string(),
  taskId: z.string(),
  url: z.string(),
  event: z.string(),
  state: z.enum(['pending', 'delivered', 'exhausted', 'stopped', 'refused']),
  round: z.number(),
  attemptsInRound: z.number(),
  nextAttemptAt: z.string().nullable(),
  lastStatusCode: z.number().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});
const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());
const deliveryView = <T extends { nextAttemptAt: number | null; createdAt: number; deliveredAt: number | null }>(found: T) => ({
  ...found,
  nextAttemptAt: iso(found.nextAttemptAt),
  createdAt: iso(found.createdAt)!,
  deliveredAt: iso(found.deliveredAt),
});

/**
 * The dashboard's JSON API under `/dashboard/api`: signed in with an API key it answers about that
 * key's tasks only; with the admin key, about every key's. Bearer tokens only (no cookies), plain
 * JSON, `{error}` with real statuses.
 */
export async function dashboardApiRoutes(app: FastifyInstance, deps: DashboardApiDependencies): Promise<void> {
  readJsonBodies(app);
  authenticateViewer(app, deps.adminKey, deps.keys, deps.readLimit);
  plainJsonErrors(app, 'sign in with an API key or the admin key');
  app.setSchemaErrorFormatter((errors) => {
    const issue = firstIssue(errors);
    return new ValidationError(`${issue.path.join('.') || 'request'}: ${issue.message}`);
  });
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const view = (viewer: Viewer, tasks: readonly Task[]) => Promise.all(tasks.map((task) => dashboardTaskView(task, viewer, deps.links)));

  routes.get(
    '/session',
    {
      schema: {
        ...docs('Who is signed in'),
        response: answers(
          z.object({ role: z.enum(['tenant', 'operator']), key: z.object({ id: z.string(), name: z.string(), prefix: z.string() }).nullable() }),
        ),
      },
    },
    async (request) => {
      const viewer = viewerOf(request);
      return { role: viewer.role, key: viewer.role === 'tenant' ? { id: viewer.key.id, name: viewer.key.name, prefix: viewer.key.prefix } : null };
    },
  );

  routes.get(
    '/tasks',
    { schema: { ...docs('Tasks, newest first, with filters'), querystring: tasksQuery, response: answers(z.object({ tasks: z.array(dashboardTask), next: z.string().nullable() })) } },
    async (request) => {
      const { limit, after, state, operation, keyId } = request.query;
      const page = await deps.reads.listTasks(viewerOf(request), {
        limit,
        ...(after ? { after } : {}),
        ...(state ? { states: stateFilters[state]! } : {}),
        ...(operation ? { operation } : {}),
        ...(keyId ? { apiKeyId: keyId } : {}),
      });
      return { tasks: await view(viewerOf(request), page.tasks), next: page.next };
    },
  );

  routes.get('/tasks/:id', { schema: { ...docs('One task'), params: idParams, response: answers(dashboardTask) } }, async (request) =>
    dashboardTaskView(await deps.reads.task(viewerOf(request), request.params.id), viewerOf(request), deps.links),
  );

  routes.get(
    '/tasks/:id/lineage',
    { schema: { ...docs('The chain of extensions a task belongs to, oldest first'), params: idParams, response: answers(z.object({ tasks: z.array(dashboardTask) })) } },
    async (request) => ({ tasks: await view(viewerOf(request), await deps.reads.lineage(viewerOf(request), request.params.id)) }),
  );

  routes.get(
    '/tasks/:id/callbacks',
    {
      schema: {
        ...docs("A task's callback deliveries, with every attempt"),
        params: idParams,
        response: answers(z.object({ deliveries: z.array(delivery.extend({ attempts: z.array(attempt) })) })),
      },
    },
    async (request) => ({
      deliveries: (await deps.reads.callbacksOf(viewerOf(request), request.params.id)).map((found) => ({
        ...deliveryView(found),
        attempts: found.attempts.map((tried) => ({ ...tried, attemptedAt: iso(tried.attemptedAt)! })),
      })),
    }),
  );

  routes.post(
    '/callbacks/:id/redeliver',
    { schema: { ...docs('Send a finished callback delivery again'), params: idParams, response: answers(z.object({ delivery })) } },
    async (request) => ({ delivery: deliveryView(await deps.reads.redeliver(viewerOf(request), request.params.id)) }),
  );

  routes.get(
    '/account',
    {
      schema: {
        ...docs("The signed-in key's balance and ledger, newest first (operators: see /admin/keys)"),
        querystring: ledgerQuery,
        response: answers(
          z.object({
            balance: z.number(),
            entries: z.array(z.object({ kind: z.string(), amount: z.number(), taskId: z.string().nullable(), note: z.string().nullable(), createdAt: z.string() })),
          }),
        ),
      },
    },
    async (request) => {
      const viewer = viewerOf(request);
      if (viewer.role !== 'tenant') throw new ValidationError("the operator has no account of its own: see each key's ledger");
      const account = await deps.reads.account(viewer.key, request.query.limit);
      return { balance: account.balance, entries: account.entries.map((entry) => ({ ...entry, createdAt: iso(entry.createdAt)! })) };
    },
  );
}
