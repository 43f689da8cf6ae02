import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { routeDocs } from '../openapi.js';
import { loadAssets, packageRoot, sendAsset } from '../static-assets.js';

/**
 * The dashboard's policy: its own scripts and styles only, requests to its own origin only, media
 * from its own origin and from where result links point (SEGUE_PUBLIC_URL, or the bucket of
 * presigned links). No inline script or style, no frames, no forms posting elsewhere.
 */
export function dashboardCsp(mediaOrigins: readonly string[]): string {
  const media = ["'self'", ...new Set(mediaOrigins)].join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src ${media}`,
    `media-src ${media}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * `GET /dashboard` and its files (plain ES modules and CSS shipped in `web/dashboard`, no build
 * step). The page holds the key in sessionStorage and sends it as a Bearer header to
 * `/dashboard/api` and `/admin`: no cookie, so no request another site makes carries it.
 */
export async function dashboardPages(app: FastifyInstance, mediaOrigin: () => Promise<string>): Promise<void> {
  const assets = loadAssets(path.join(packageRoot, 'web', 'dashboard'));
  const html = assets.get('index.html')!;
  // Found at the first visit (a presigned link is signed by the store's client) and kept once found.
  let csp: string | undefined;
  const policy = async () => {
    if (csp) return csp;
    try {
      return (csp = dashboardCsp([await mediaOrigin()]));
    } catch {
      return dashboardCsp([]);
    }
  };
  const pageDocs = { ...routeDocs.pages, response: { 200: { description: 'The dashboard (HTML)', content: { 'text/html': { schema: z.string() } } } } };

  app.get('/dashboard', { schema: { ...pageDocs, summary: 'The dashboard: tasks, videos, callbacks, credits; providers and switches for operators' } }, async (_request, reply) =>
    sendAsset(reply.header('content-security-policy', await policy()).header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY'), html, 'no-store'),
  );

  app.get<{ Params: { '*': string } }>(
    '/dashboard/assets/*',
    { schema: { ...routeDocs.pages, summary: "The dashboard's scripts and styles", params: z.object({ '*': z.string() }) } },
    async (request, reply) => {
      const asset = assets.get(request.params['*']);
      if (!asset || request.params['*'] === 'index.html') return reply.code(404).type('text/plain').send('Not found');
      return sendAsset(reply, asset);
    },
  );
}
