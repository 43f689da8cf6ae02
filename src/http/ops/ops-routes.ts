import type { FastifyInstance } from 'fastify';

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

/**
 * `GET /healthz` (the process answers) and `GET /readyz` (database and ffmpeg usable). An open
 * circuit breaker shows in `providers` but does not make Segue unready: other entries of a route,
 * and polls of accepted tasks, still work.
 */
export async function opsRoutes(app: FastifyInstance, checks: readonly ReadinessCheck[], providers: () => Record<string, unknown>): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
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
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results), providers: providers() });
  });
}
