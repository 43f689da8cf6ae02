import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { NotFoundError, UnauthorizedError } from '../domain/errors.js';
import type { Task } from '../domain/task.js';
import type { ApiKeyRecord } from '../ports/key-store.js';
import type { Viewer } from '../services/dashboard-reads.js';
import type { KeyService } from '../services/key-service.js';
import type { ReadLimit } from '../services/rate-limiter.js';
import type { FinishedTaskRecords } from '../services/finished-task-records.js';
import type { TaskService } from '../services/task-service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key the scope's `onRequest` hook resolved (see `authenticateApiKeys`). */
    apiKey: ApiKeyRecord | null;
    /** Who the dashboard API's `onRequest` hook found presenting the token (see `authenticateViewer`). */
    viewer: Viewer | null;
  }
  interface FastifyContextConfig {
    /** A route clients poll: it counts against the read limit, checked before the key is looked up. */
    readLimited?: boolean;
  }
}

/** Route options of a route that clients poll (see `FastifyContextConfig.readLimited`). */
export const POLLED_ROUTE = { config: { readLimited: true } } as const;

/** The Bearer token of a request, or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Authenticates every request of a scope in `onRequest`, before Fastify reads any body. A
 * request that fails is answered at once with UnauthorizedError (the scope's error handler words
 * it) and its connection is closed after the answer, so an unread body is never taken in.
 */
function authenticateBeforeBody(app: FastifyInstance, authenticate: (request: FastifyRequest) => boolean | Promise<boolean>): void {
  // A callback hook: a request answered at once (a kept key) goes on without a promise.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const outcome = authenticate(request);
    if (outcome === true) return done();
    if (outcome === false) return refuse(reply, done);
    outcome.then((authenticated) => (authenticated ? done() : refuse(reply, done)), done);
  });
}

function refuse(reply: FastifyReply, done: HookHandlerDoneFunction): void {
  reply.header('connection', 'close');
  done(new UnauthorizedError('missing or invalid credentials'));
}

/**
 * The API-key dialects' authentication: a polled route's read limit (per presented token, so a
 * flood of bad tokens is throttled before the database), then the key, kept as `request.apiKey`.
 * A key kept from a moment ago is known at once; any other is looked up.
 */
export function authenticateApiKeys(app: FastifyInstance, keys: KeyService, reads: ReadLimit): void {
  app.decorateRequest('apiKey', null);
  authenticateBeforeBody(app, (request) => {
    const token = bearerToken(request);
    if (reads.limited && request.routeOptions.config.readLimited) reads.check(token);
    if (!token) return false;
    const known = keys.known(token);
    if (known) {
      request.apiKey = known;
      return true;
    }
    return keys.authenticate(token).then((key) => {
      request.apiKey = key ?? null;
      return key !== undefined;
    });
  });
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** The admin scope's authentication: the one SEGUE_ADMIN_KEY, compared in constant time. */
export function authenticateAdmin(app: FastifyInstance, adminKey: string): void {
  const expected = digest(adminKey);
  authenticateBeforeBody(app, async (request) => {
    const token = bearerToken(request);
    return token !== undefined && timingSafeEqual(digest(token), expected);
  });
}

/**
 * The dashboard API's authentication: the admin key (when one is configured) makes the operator,
 * any active API key its tenant; reads are limited per presented token as the polled routes are.
 */
export function authenticateViewer(app: FastifyInstance, adminKey: string | undefined, keys: KeyService, reads: ReadLimit): void {
  const admin = adminKey === undefined ? undefined : digest(adminKey);
  app.decorateRequest('viewer', null);
  authenticateBeforeBody(app, async (request) => {
    const token = bearerToken(request);
    if (token === undefined) return false;
    if (admin && timingSafeEqual(digest(token), admin)) {
      request.viewer = { role: 'operator' };
      return true;
    }
    reads.check(token);
    const key = await keys.authenticate(token);
    request.viewer = key ? { role: 'tenant', key } : null;
    return key !== undefined;
  });
}

/** Who `authenticateViewer` found. */
export function viewerOf(request: FastifyRequest): Viewer {
  if (!request.viewer) throw new UnauthorizedError('missing or invalid API key');
  return request.viewer;
}

/** The key `authenticateApiKeys` resolved for this request. */
export function apiKeyOf(request: FastifyRequest): ApiKeyRecord {
  if (!request.apiKey) throw new UnauthorizedError('missing or invalid API key');
  return request.apiKey;
}

/**
 * The task a polling route reads, in one query that also checks the presented key owns it; an
 * unknown and a foreign task are both NotFound (the two are never told apart).
 */
export async function requireOwnedTask(tasks: TaskService, request: FastifyRequest, taskId: string): Promise<Task> {
  const task = await tasks.findForPresentedKey(taskId, bearerToken(request) ?? '');
  if (!task) throw new NotFoundError('no such task');
  return task;
}

/**
 * Answers a polling route with the record of a task the presented key owns, serialised by the
 * route's response schema. A finished task's serialised record is kept (per `view`, the route's
 * name) and sent again, without the database or serialising, while it stays good: then it is
 * sent at once, no promise made, and this answers undefined (as a route handler that has sent).
 */
export function sendOwnedTask(
  deps: { readonly tasks: TaskService; readonly records: FinishedTaskRecords },
  request: FastifyRequest,
  reply: FastifyReply,
  view: string,
  taskId: string,
  present: (task: Task) => unknown,
): Promise<void> | undefined {
  const apiKeyId = apiKeyOf(request).id;
  const kept = deps.records.kept<SerializedRecord>(view, apiKeyId, taskId);
  if (kept !== undefined) {
    sendJsonText(reply, kept);
    return undefined;
  }
  return deps.records
    .answer(view, apiKeyId, taskId, () => requireOwnedTask(deps.tasks, request, taskId), async (task) => reply.serialize(await present(task)))
    .then((body) => {
      sendJsonText(reply, body);
    });
}

/** A record as the route's response schema serialised it. */
type SerializedRecord = ReturnType<FastifyReply['serialize']>;

/** Serialised JSON with its content type is sent as it is (no serialiser). */
function sendJsonText(reply: FastifyReply, body: SerializedRecord): void {
  reply.type('application/json; charset=utf-8').send(body);
}
