import type { FastifyRequest } from 'fastify';
import { NotFoundError, UnauthorizedError } from '../domain/errors.js';
import type { Task } from '../domain/task.js';
import type { ApiKeyRecord } from '../ports/key-store.js';
import type { KeyService } from '../services/key-service.js';
import type { TaskService } from '../services/task-service.js';

/** The Bearer token of a request, or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Resolves the request's API key or throws UnauthorizedError (mapped by each dialect). */
export async function requireApiKey(keys: KeyService, request: FastifyRequest): Promise<ApiKeyRecord> {
  const token = bearerToken(request);
  const key = token ? await keys.authenticate(token) : undefined;
  if (!key) throw new UnauthorizedError('missing or invalid API key');
  return key;
}

/**
 * The task a polling route reads: one query when key and task match; otherwise an invalid key is
 * Unauthorized and an unknown or foreign task NotFound (the two are never told apart).
 */
export async function requireOwnedTask(keys: KeyService, tasks: TaskService, request: FastifyRequest, taskId: string): Promise<Task> {
  const token = bearerToken(request);
  const task = token ? await tasks.findForPresentedKey(taskId, token) : undefined;
  if (task) return task;
  await requireApiKey(keys, request);
  throw new NotFoundError('record is null');
}
