import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { openApiDocument, routeDocs } from '../openapi.js';
import { loadAssets, packageRoot, sendAsset, type StaticAsset } from '../static-assets.js';

/**
 * What the reference page may load: its own scripts and the document, nothing from elsewhere.
 * Redoc's styles are injected at run time (styled-components) and its search runs in a worker it
 * makes from a blob: URL; it fetches only /openapi.json.
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const page = (summary: string, description: string) => ({
  schema: {
    ...routeDocs.pages,
    summary,
    response: { 200: { description, content: { [description.startsWith('The OpenAPI') ? 'application/json' : 'text/html']: { schema: z.string() } } } },
  },
});

/** The one remote address in Redoc's bundle: the logo of its "API docs by Redocly" footer. */
const REDOC_REMOTE_LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
/** An empty image in its place, so that the page asks nothing of any other host. */
const EMPTY_IMAGE = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";

/** Redoc's self-contained browser bundle, from the `redoc` package (no network, no build step). */
function redocBundle(): StaticAsset {
  const main = createRequire(import.meta.url).resolve('redoc');
  const bundle = fs.readFileSync(path.join(path.dirname(main), 'redoc.standalone.js'), 'utf8');
  return { body: Buffer.from(bundle.replaceAll(REDOC_REMOTE_LOGO, EMPTY_IMAGE)), contentType: 'text/javascript; charset=utf-8' };
}

/**
 * `GET /openapi.json` (the OpenAPI 3.1 document generated from every route's schemas) and
 * `GET /docs`, its reference page rendered by Redoc, served from the package.
 */
export async function docsRoutes(app: FastifyInstance): Promise<void> {
  const own = loadAssets(path.join(packageRoot, 'web', 'docs'));
  const assets = new Map([...own, ['redoc.standalone.js', redocBundle()]]);
  const html = own.get('index.html')!;
  let document: string | undefined;

  app.get('/openapi.json', page('This document', 'The OpenAPI 3.1 document of every route'), async (_request, reply) => {
    // The routes do not change once the app is ready: the document is made once.
    document ??= JSON.stringify(openApiDocument(app));
    return reply
      .type('application/json; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('access-control-allow-origin', '*')
      .send(document);
  });

  app.get('/docs', page('The API reference page', 'The reference page (HTML), rendered in the browser from /openapi.json'), async (_request, reply) =>
    sendAsset(reply.header('content-security-policy', DOCS_CSP).header('referrer-policy', 'no-referrer'), html),
  );

  app.get<{ Params: { name: string } }>(
    '/docs/assets/:name',
    { schema: { ...routeDocs.pages, summary: "The reference page's scripts and styles", params: z.object({ name: z.string() }) } },
    async (request, reply) => {
      const asset = assets.get(request.params.name);
      if (!asset || request.params.name === 'index.html') return reply.code(404).type('text/plain').send('Not found');
      return sendAsset(reply, asset);
    },
  );
}
