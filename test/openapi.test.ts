import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import type { OpenAPIV3_1 } from 'openapi-types';
import { pino } from 'pino';
import { buildHttpApp, type HttpDependencies } from '../src/http/app.js';
import { openApiDocument } from '../src/http/openapi.js';
import { temporaryDirectory } from './helpers/test-segue.js';

/*
 * The OpenAPI document is generated from the routes' own schemas: every route Fastify registers
 * is in it, and it is a valid OpenAPI 3.1 document. Building the document needs no service, so
 * the app is built on stubs that no request reaches.
 */

const blobDirectory = temporaryDirectory('segue-openapi-');
/** Every route as `METHOD /path`, seen by an onRoute hook while the app was built. */
const registered: string[] = [];
let app: FastifyInstance;
let document: OpenAPIV3_1.Document;

before(async () => {
  const unused = {} as never;
  const dialect = { keys: unused, tasks: unused, extensions: unused, reads: unused, presenter: unused, imports: unused, mediaBodyLimitBytes: 1024 };
  const deps: HttpDependencies = {
    logger: pino({ level: 'silent' }),
    veo: { ...dialect, callbacks: unused },
    universal: dialect,
    openai: { ...dialect, deletion: unused, blobs: unused, models: unused, mediaMaxBytes: 1024 },
    admin: { adminKey: 'admin-key-openapi-0123456789', keys: unused, admission: unused, operator: unused, metrics: unused },
    files: { signer: unused, blobs: unused },
    readiness: [],
    providerReport: async () => ({}),
    providerHooks: unused,
    metrics: { metrics: unused, adminKey: undefined },
    dashboard: { reads: unused, links: unused, mediaOrigin: async () => 'http://127.0.0.1:1' },
  };
  app = await buildHttpApp(deps, {
    onRoute: (route) => {
      for (const method of [route.method].flat()) registered.push(`${method} ${route.url}`);
    },
  });
  await app.ready();
  document = openApiDocument(app);
});

after(async () => {
  await app.close();
  fs.rmSync(blobDirectory, { recursive: true, force: true });
});

/** Fastify's `/a/:id` and `/files/*` as OpenAPI path templates. */
const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}');

test('every registered route is documented', () => {
  // HEAD is answered beside each GET (the file route declares it itself); the document describes the GET.
  const routes = registered.filter((route) => !route.startsWith('HEAD '));
  assert.ok(routes.length >= 25, `only ${routes.length} routes were seen`);
  const documented = Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    Object.keys(item ?? {})
      .filter((key) => ['get', 'put', 'post', 'delete', 'patch', 'options'].includes(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
  const missing = routes.map((route) => route.replace(/ (.*)$/, (_match, url: string) => ` ${openApiPath(url)}`)).filter((route) => !documented.includes(route));
  assert.deepEqual(missing, [], 'routes missing from the OpenAPI document');
  assert.equal(documented.length, routes.length, 'nothing documented that is not served');
});

test('the document is valid OpenAPI 3.1', async () => {
  assert.equal(document.openapi, '3.1.0');
  const result = await new Validator().validate(document as unknown as Record<string, unknown>);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
});

test('each dialect is tagged, authenticated as it is, and its answers are described', () => {
  assert.equal(document.info.title, 'Segue');
  assert.match(document.info.version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(Object.keys(document.components?.securitySchemes ?? {}).sort(), ['adminKey', 'apiKey']);
  const operation = (path: string, method: 'get' | 'post') => document.paths?.[path]?.[method] as OpenAPIV3_1.OperationObject;

  const generate = operation('/api/v1/veo/generate', 'post');
  assert.deepEqual(generate.tags, ['Veo']);
  assert.deepEqual(generate.security, [{ apiKey: [] }]);
  assert.ok(generate.parameters?.some((parameter) => 'name' in parameter && parameter.name === 'idempotency-key' && parameter.in === 'header'));
  const recordInfo = JSON.stringify(operation('/api/v1/veo/record-info', 'get').responses?.['200']);
  for (const field of ['fullResultUrls', 'resultUrls', 'successFlag', 'errorCode', 'errorMessage', 'fallbackFlag', 'mediaIds', 'paramJson']) {
    assert.ok(recordInfo.includes(`"${field}"`), `record-info documents ${field}`);
  }

  const create = operation('/v2/video/generations', 'post');
  assert.deepEqual(create.tags, ['Universal']);
  const createBody = JSON.stringify(create.requestBody);
  for (const model of ['google/veo-3.1-t2v', 'google/veo3-1-fast-extend-video', 'google/veo-3.1-reference-to-video']) assert.ok(createBody.includes(model), model);
  const fetch = operation('/v2/video/generations', 'get');
  assert.ok(Object.keys(fetch.responses ?? {}).includes('4XX'), 'the NestJS error body is documented for 4xx');
  assert.ok(fetch.parameters?.some((parameter) => 'name' in parameter && parameter.name === 'generation_id' && parameter.in === 'query'));

  assert.deepEqual(operation('/admin/keys', 'post').security, [{ adminKey: [] }]);
  assert.deepEqual(operation('/healthz', 'get').tags, ['Operations']);
  assert.ok(JSON.stringify(document).includes('"examples"'), 'the document carries examples');
});

test('GET /openapi.json serves the document, and GET /docs renders it from same-origin files only', async () => {
  const served = await app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(served.statusCode, 200);
  assert.match(served.headers['content-type'] as string, /^application\/json/);
  assert.deepEqual(served.json(), JSON.parse(JSON.stringify(document)));
  for (const path of ['/openapi.json', '/docs', '/docs/assets/{name}', '/dashboard', '/dashboard/assets/{*}', '/dashboard/api/tasks', '/admin/providers']) {
    assert.ok(document.paths?.[path], `${path} is documented`);
  }

  const docs = await app.inject({ method: 'GET', url: '/docs' });
  assert.equal(docs.statusCode, 200);
  assert.match(docs.headers['content-type'] as string, /^text\/html/);
  const csp = docs.headers['content-security-policy'] as string;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/, 'no inline or foreign script');
  assert.match(csp, /connect-src 'self'(;|$)/, 'the page fetches from its own origin only');
  const references = [...docs.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
  assert.ok(references.some((reference) => reference.endsWith('/redoc.standalone.js')), 'the renderer is served by Segue');
  for (const reference of references) {
    assert.match(reference, /^\/[^/]/, `${reference} is a same-origin path`);
    const asset = await app.inject({ method: 'GET', url: reference });
    assert.equal(asset.statusCode, 200, reference);
    assert.equal(asset.headers['x-content-type-options'], 'nosniff');
  }
  const renderer = await app.inject({ method: 'GET', url: '/docs/assets/redoc.standalone.js' });
  assert.match(renderer.headers['content-type'] as string, /^text\/javascript/);
  assert.ok(renderer.body.length > 500_000, 'the whole Redoc bundle');
  assert.deepEqual(renderer.body.match(/https:\/\/cdn\.[\w./-]+/g) ?? [], [], 'the bundle loads nothing from a CDN');
  assert.equal((await app.inject({ method: 'GET', url: '/docs/assets/..%2Fpackage.json' })).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: '/dashboard/assets/../../package.json' })).statusCode, 404);
});
