import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DomainError, InvalidStateError, NotFoundError, UnauthorizedError, ValidationError } from '../../domain/errors.js';
import type { ApiKeyRecord } from '../../ports/key-store.js';
import type { Admission } from '../../services/admission.js';
import type { KeyService } from '../../services/key-service.js';
import type { OperatorService } from '../../services/operator-service.js';
import { authenticateAdmin } from '../auth.js';
import { readJsonBodies } from '../json-bodies.js';

export interface AdminRouteDependencies {
  readonly adminKey: string;
  readonly keys: KeyService;
  readonly admission: Admission;
  readonly operator: OperatorService;
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
    createdAt: new Date(key.createdAt).toISOString(),
    revokedAt: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
    ...(key.balance !== undefined ? { balance: key.balance } : {}),
  };
}

const operations = z.enum(['generate', 'extend', 'upgrade_1080p', 'upgrade_4k']);
const limitsBody = z.object({
  rateLimit: z.string().nullable().optional(),
  maxUnfinishedTasks: z.number().int().positive().nullable().optional(),
});
const newKeyBody = limitsBody.extend({ name: z.string().trim().min(1).max(200), credits: z.number().int().nonnegative().default(0) });
const creditsBody = z.object({ amount: z.number().int(), note: z.string().max(500).optional() });
const switchesBody = z.object({ maintenance: z.boolean().optional(), disabledFeatures: z.array(operations).optional() });
const settleBody = z.object({ outcome: z.enum(['refund', 'charge']) });
/** A query parameter given once (Fastify makes a list of a repeated one). */
const once = z.string({ error: 'must be given once' });
const ledgerQuery = z.object({
  // Lenient about the size, as listings are: out of range is clamped, only a non-number is refused.
  limit: once.regex(/^\d{1,9}$/, 'must be a whole number').transform((value) => Math.min(1000, Math.max(1, Number(value)))).default(100),
});
const tasksQuery = z.object({
  state: once
    .pipe(z.enum(['queued', 'running', 'reconciling', 'succeeded', 'failed'], { error: 'must be queued, running, reconciling, succeeded or failed' }))
    .default('reconciling'),
});

/** Validates a body or a query string; the first problem names its field. */
function parse<T>(schema: z.ZodType<T>, fields: unknown): T {
  const parsed = schema.safeParse(fields ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new ValidationError(`${issue.path.join('.') || 'body'}: ${issue.message}`);
}

/**
 * The admin API (`/admin/*`), authenticated by SEGUE_ADMIN_KEY: keys, credits and the ledger,
 * service switches, and settling tasks stuck in reconciliation. Plain JSON, real statuses.
 */
export async function adminRoutes(app: FastifyInstance, deps: AdminRouteDependencies): Promise<void> {
  readJsonBodies(app);
  authenticateAdmin(app, deps.adminKey);
  app.setErrorHandler((error, request, reply: FastifyReply) => {
    const statusCode =
      error instanceof UnauthorizedError ? 401
      : error instanceof NotFoundError ? 404
      : error instanceof InvalidStateError ? 409
      : error instanceof DomainError ? 400
      : (error as { statusCode?: number }).statusCode && (error as { statusCode: number }).statusCode < 500 ? (error as { statusCode: number }).statusCode
      : 500;
    if (statusCode === 500) request.log.error({ err: error }, 'unexpected admin error');
    const message = statusCode === 500 ? 'Internal server error' : statusCode === 401 ? 'admin key required' : (error as Error).message;
    return reply.code(statusCode).send({ error: message });
  });

  app.get('/keys', async () => ({ keys: (await deps.keys.list()).map(publicKey) }));

  app.post('/keys', async (request) => {
    const body = parse(newKeyBody, request.body);
    const issued = await deps.keys.create(body.name, body.credits);
    if (body.rateLimit !== undefined || body.maxUnfinishedTasks !== undefined) {
      await deps.keys.setLimits(issued.id, { rateLimit: body.rateLimit ?? null, maxUnfinishedTasks: body.maxUnfinishedTasks ?? null });
    }
    return { id: issued.id, key: issued.key, webhookSecret: issued.webhookSecret };
  });

  app.get('/keys/:id', async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const key = await deps.keys.find(request.params.id);
    return publicKey({ ...key, balance: await deps.keys.balance(key.id) });
  });

  app.post('/keys/:id/revoke', async (request: FastifyRequest<{ Params: { id: string } }>) => {
    await deps.keys.revoke(request.params.id);
    return { revoked: true };
  });

  app.post('/keys/:id/rotate', async (request: FastifyRequest<{ Params: { id: string } }>) => ({
    key: await deps.keys.rotate(request.params.id),
  }));

  app.put('/keys/:id/limits', async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const body = parse(limitsBody, request.body);
    await deps.keys.setLimits(request.params.id, { rateLimit: body.rateLimit ?? null, maxUnfinishedTasks: body.maxUnfinishedTasks ?? null });
    return publicKey(await deps.keys.find(request.params.id));
  });

  app.post('/keys/:id/credits', async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const body = parse(creditsBody, request.body);
    return { balance: await deps.keys.grant(request.params.id, body.amount, body.note) };
  });

  app.get('/keys/:id/ledger', async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const { limit } = parse(ledgerQuery, request.query);
    const entries = await deps.keys.history(request.params.id, limit);
    return { entries: entries.map((entry) => ({ ...entry, createdAt: new Date(entry.createdAt).toISOString() })) };
  });

  app.get('/service', async () => deps.admission.switches());

  app.put('/service', async (request) => deps.admission.setSwitches(parse(switchesBody, request.body)));

  app.get('/tasks', async (request) => {
    const { state } = parse(tasksQuery, request.query);
    const tasks = await deps.operator.tasksIn(state, 500);
    return { tasks: tasks.map((task) => ({ id: task.id, apiKeyId: task.apiKeyId, operation: task.operation, state: task.state, price: task.price, provider: task.provider, createdAt: new Date(task.createdAt).toISOString() })) };
  });

  app.post('/tasks/:id/settle', async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const { outcome } = parse(settleBody, request.body);
    return { settled: await deps.operator.settle(request.params.id, outcome), outcome };
  });
}
