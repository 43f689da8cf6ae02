import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { routeDocs } from '../openapi.js';

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

const readiness = z.object({
  status: z.enum(['ready', 'not ready']),
  checks: z.record(z.string(), z.string()).meta({ description: '"ok", or "failed: <why>", by check (database, ffmpeg).' }),
  // Each provider kind reports its own fields (breaker, limits, slots): passed through as they are.
  providers: z.record(z.string(), z.unknown()).meta({ description: 'What each provider entry reports (circuit breaker, limits).' }),
});

/**
 * `GET /healthz` (the process answers) and `GET /readyz` (database and ffmpeg usable). An open
 * circuit breaker shows in `providers` but does not make Segue unready: other entries of a route,
 * and polls of accepted tasks, still work.
 */
export async function opsRoutes(app: FastifyInstance, checks: readonly ReadinessCheck[], providers: () => Promise<Record<string, unknown>>): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get('/healthz', { schema: { ...routeDocs.ops, summary: 'The process answers', response: { 200: z.object({ status: z.literal('ok') }) } } }, async () => ({
    status: 'ok' as const,
  }));

  routes.get(
    '/readyz',
    { schema: { ...routeDocs.ops, summary: 'The database and ffmpeg are usable', response: { 200: readiness, 503: readiness } } },
    async (_request, reply) => {
      const results = await Promise.all(
        checks.map(async ({ name, check }) => {
          try {
            await check();
            return [name, 'ok'] as const;
          } catch (error) {
            return [name, `failed: ${(error as Error).message}`] as const;
          }
        }),
      );
      const ready = results.every(([, status]) => status === 'ok');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results), providers: await providers() });
    },
  );
}
