import fs from 'node:fs';
import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { OpenAPIV3_1 } from 'openapi-types';

/** The package's version (this file runs as dist/src/http/openapi.js). */
const version = (JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The documentation of each dialect's routes: its tag and how a caller authenticates. */
export const routeDocs = {
  veo: { tags: ['Veo'], security: [{ apiKey: [] }] },
  universal: { tags: ['Universal'], security: [{ apiKey: [] }] },
  openai: { tags: ['OpenAI'], security: [{ apiKey: [] }] },
  admin: { tags: ['Admin'], security: [{ adminKey: [] }] },
  files: { tags: ['Files'], security: [] },
  ops: { tags: ['Operations'], security: [] },
  hooks: { tags: ['Provider webhooks'], security: [] },
  dashboard: { tags: ['Dashboard'], security: [{ apiKey: [] }, { adminKey: [] }] },
  pages: { tags: ['Docs and dashboard pages'], security: [] },
} as const;

const tags: OpenAPIV3_1.TagObject[] = [
  {
    name: 'Veo',
    description:
      'The kie-style Veo 3.1 dialect under /api/v1: every answer is HTTP 200 with the `{code, msg, data}` envelope, the real status in `code` (422 for a request that does not validate).',
  },
  {
    name: 'Universal',
    description:
      'The AIML-style universal video dialect under /v2: real HTTP statuses, errors as `{message, path, requestId, statusCode, timestamp}` (400 "Body validation error! …" / "Query validation error! …").',
  },
  {
    name: 'OpenAI',
    description:
      "The OpenAI-compatible Videos API under /v1, for the official SDKs (`baseURL` Segue's `/v1`, `apiKey` a Segue key): OpenAI's `video` object, statuses queued, in_progress, completed and failed, errors as `{error: {message, type, param, code}}` with real HTTP statuses; multipart or JSON bodies. An extension or remix adds 7 seconds.",
  },
  { name: 'Admin', description: 'Keys, credits, the ledger, service switches and stuck tasks; authenticated by SEGUE_ADMIN_KEY. Errors are `{error}`.' },
  { name: 'Files', description: "Result media behind Segue's own signed, expiring links, with Range support." },
  { name: 'Operations', description: 'Liveness and readiness.' },
  { name: 'Provider webhooks', description: "Upstream providers' notices, verified by each provider entry's plug-in." },
  {
    name: 'Dashboard',
    description:
      "The dashboard's JSON API under /dashboard/api: with an API key, that key's own tasks only; with the admin key, every key's. Bearer tokens only, errors as `{error}` with real statuses.",
  },
  { name: 'Docs and dashboard pages', description: 'This document, its reference page (/docs) and the dashboard (/dashboard), served from the package: no network needed.' },
];

/**
 * Collects every route's zod schemas for the OpenAPI document (registered before the routes, so
 * that it sees each of them). Nothing is served from here: see `openApiDocument`.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Segue',
        version,
        description:
          'Self-hosted Veo 3.1-compatible video generation and extension. Three public dialects over one task engine: ' +
          'the Veo dialect (`/api/v1/veo/*`), the universal video dialect (`/v2/video/generations`) and the OpenAI-compatible ' +
          'Videos API (`/v1/videos…`, `/v1/models`); a client switches to Segue by changing only its base URL. Every create ' +
          'takes an `Idempotency-Key`.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      tags,
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (`npx segue keys create`).' },
          adminKey: { type: 'http', scheme: 'bearer', description: 'SEGUE_ADMIN_KEY; without it there is no admin API.' },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
}

/** The OpenAPI 3.1 document of every route of `app`, generated from their schemas (call after `app.ready()`). */
export function openApiDocument(app: FastifyInstance): OpenAPIV3_1.Document {
  return app.swagger() as OpenAPIV3_1.Document;
}
