import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError, UnauthorizedError } from '../domain/errors.js';
import type { Task } from '../domain/task.js';
import type { ApiKeyRecord } from '../ports/key-store.js';
import type { Viewer } from '../services/dashboard-reads.js';
import type { KeyService } from '../services/key-service.js';
import type { ReadLimit } from '../services/rate-limiter.js';
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
function authenticateBeforeBody(app: FastifyInstance, authenticate: (request: FastifyRequest) => Promise<boolean>): void {
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (await authenticate(request)) return;
    reply.header('connection', 'close');
    throw new UnauthorizedError('missing or invalid credentials');
  });
}

/**
 * The API-key dialects' authentication: a polled route's read limit (per presented token, so a
 * flood of bad tokens is throttled before the database), then the key, kept as `request.apiKey`.
 */
export function authenticateApiKeys(app: FastifyInstance, keys: KeyService, reads: ReadLimit): void {
  app.decorateRequest('apiKey', null);
  authenticateBeforeBody(app, async (request) => {
    const token = bearerToken(request);
    if (request.routeOptions.config.readLimited) reads.check(token);
    request.apiKey = (token && (await keys.authenticate(token))) || null;
    return request.apiKey !== null;
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
