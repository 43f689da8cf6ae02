import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../domain/errors.js';

/**
 * The body limit of routes whose bodies are JSON fields only (prompts, URLs, ids, switches): far
 * above any valid one. Routes that take media inline (data: URIs) are given their own limit.
 */
export const FIELDS_BODY_LIMIT_BYTES = 64 * 1024;

/** A body that is not JSON. Each dialect's error mapper words it. */
export class UnreadableBodyError extends ValidationError {
  constructor() {
    super('The request body must be a JSON object', 'body');
  }
}

/**
 * Reads every body of a scope as JSON, whatever its content type says (missing, `text/plain`,
 * the form type of `curl -d`…), as the JSON dialects' clients send them. An empty body is no body.
 * Prototype-poisoning keys are refused, as by Fastify's own JSON parser. Every route of the scope
 * declared afterwards is bounded by FIELDS_BODY_LIMIT_BYTES unless it names its own `bodyLimit`.
 */
export function readJsonBodies(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= FIELDS_BODY_LIMIT_BYTES;
  });
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    parseJson(request, body as string, (error, value) => done(error ? new UnreadableBodyError() : null, value));
  });
}
