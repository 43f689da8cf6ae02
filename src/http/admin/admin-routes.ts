import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiKeyRecord } from '../../ports/key-store.js';
import type { Admission } from '../../services/admission.js';
import type { KeyService } from '../../services/key-service.js';
import type { MetricsService } from '../../services/metrics-service.js';
import type { OperatorService } from '../../services/operator-service.js';
import { authenticateAdmin } from '../auth.js';
import { adminProviderRoutes } from './admin-provider-routes.js';
import { readJsonBodies } from '../json-bodies.js';
import { plainJsonErrors } from '../plain-errors.js';
import { routeDocs } from '../openapi.js';
import {
  adminResponses,
  adminSchemaError,
  creditsBody,
  idParams,
  ledgerQuery,
  limitsBody,
  newKeyBody,
  settleBody,
  switchesBody,
  tasksQuery,
  webhookBody,
} from './admin-schemas.js';

export interface AdminRouteDependencies {
  readonly adminKey: string;
  readonly keys: KeyService;
  readonly admission: Admission;
  readonly operator: OperatorService;
  /** The figures behind `GET /admin/providers`. */
  readonly metrics: MetricsService;
}

/** A key as operators see it: never its secrets. */
function publicKey(key: ApiKeyRecord & { balance?: number }) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    rateLimit: key.rateLimit,
    maxUnfinishedTasks: key.maxUnfinishedTasks,
    veoSignatures: key.veoHmacKey !== null,
    webhookUrl: key.webhookUrl,
    createdAt: new Date(key.createdAt).toISOString(),
    revokedAt: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
    ...(key.balance !== undefined ? { balance: key.balance } : {}),
  };
}

/**
 * The admin API (`/admin/*`), authenticated by SEGUE_ADMIN_KEY: keys, credits and the ledger,
 * service switches, and settling tasks stuck in reconciliation. Plain JSON, real statuses.
 */
export async function adminRoutes(app: FastifyInstance, deps: AdminRouteDependencies): Promise<void> {
  readJsonBodies(app);
  authenticateAdmin(app, deps.adminKey);
  plainJsonErrors(app, 'admin key required');

  app.setSchemaErrorFormatter(adminSchemaError);
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const docs = (summary: string) => ({ ...routeDocs.admin, summary });

  routes.get('/keys', { schema: { ...docs('Every key, with its balance'), response: adminResponses.keys } }, async () => ({
    keys: (await deps.keys.list()).map(publicKey),
  }));

  routes.post('/keys', { schema: { ...docs('Issue a key'), body: newKeyBody, response: adminResponses.issued } }, async (request) => {
    const { body } = request;
    const issued = await deps.keys.create(body.name, body.credits);
    if (body.rateLimit !== undefined || body.maxUnfinishedTasks !== undefined) {
      await deps.keys.setLimits(issued.id, { rateLimit: body.rateLimit ?? null, maxUnfinishedTasks: body.maxUnfinishedTasks ?? null });
    }
    return { id: issued.id, key: issued.key, webhookSecret: issued.webhookSecret };
  });

  routes.get('/keys/:id', { schema: { ...docs('A key and its balance'), params: idParams, response: adminResponses.key } }, async (request) => {
    const key = await deps.keys.find(request.params.id);
    return publicKey({ ...key, balance: await deps.keys.balance(key.id) });
  });

  routes.post('/keys/:id/revoke', { schema: { ...docs('Revoke a key'), params: idParams, response: adminResponses.revoked } }, async (request) => {
    await deps.keys.revoke(request.params.id);
    return { revoked: true as const };
  });

  routes.post('/keys/:id/rotate', { schema: { ...docs("Replace a key's secret"), params: idParams, response: adminResponses.rotated } }, async (request) => ({
    key: await deps.keys.rotate(request.params.id),
  }));

  routes.put(
    '/keys/:id/limits',
    { schema: { ...docs("Set a key's limits"), params: idParams, body: limitsBody, response: adminResponses.key } },
    async (request) => {
      const { body, params } = request;
      await deps.keys.setLimits(params.id, { rateLimit: body.rateLimit ?? null, maxUnfinishedTasks: body.maxUnfinishedTasks ?? null });
      return publicKey(await deps.keys.find(params.id));
    },
  );

  routes.put(
    '/keys/:id/webhook',
    { schema: { ...docs("Set a key's webhook URL (OpenAI-dialect events)"), params: idParams, body: webhookBody, response: adminResponses.key } },
    async (request) => publicKey(await deps.keys.setWebhookUrl(request.params.id, request.body.url)),
  );

  routes.post(
    '/keys/:id/credits',
    { schema: { ...docs('Grant credits'), params: idParams, body: creditsBody, response: adminResponses.balance } },
    async (request) => ({ balance: await deps.keys.grant(request.params.id, request.body.amount, request.body.note) }),
  );

  routes.get(
    '/keys/:id/ledger',
    { schema: { ...docs("A key's ledger, newest first"), params: idParams, querystring: ledgerQuery, response: adminResponses.ledger } },
    async (request) => {
      const entries = await deps.keys.history(request.params.id, request.query.limit);
      return { entries: entries.map((entry) => ({ ...entry, createdAt: new Date(entry.createdAt).toISOString() })) };
    },
  );

  routes.get('/service', { schema: { ...docs('The service switches'), response: adminResponses.switches } }, async () => deps.admission.switches());

  routes.put('/service', { schema: { ...docs('Set the service switches'), body: switchesBody, response: adminResponses.switches } }, async (request) =>
    deps.admission.setSwitches(request.body),
  );

  routes.get('/tasks', { schema: { ...docs('Tasks in one state'), querystring: tasksQuery, response: adminResponses.tasks } }, async (request) => {
    const tasks = await deps.operator.tasksIn(request.query.state, 500);
    return {
      tasks: tasks.map((task) => ({ id: task.id, apiKeyId: task.apiKeyId, operation: task.operation, state: task.state, price: task.price, provider: task.provider, createdAt: new Date(task.createdAt).toISOString() })),
    };
  });

  routes.post(
    '/tasks/:id/settle',
    { schema: { ...docs('Settle a task stuck in reconciliation'), params: idParams, body: settleBody, response: adminResponses.settled } },
    async (request) => {
      const { outcome } = request.body;
      return { settled: await deps.operator.settle(request.params.id, outcome), outcome };
    },
  );

  adminProviderRoutes(app, deps.metrics);
}
