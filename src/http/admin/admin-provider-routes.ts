import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { MetricsService } from '../../services/metrics-service.js';
import { routeDocs } from '../openapi.js';

const error = z.object({ error: z.string() });
const providersAnswer = z.object({
  providers: z.array(
    z.object({
      entry: z.string(),
      breaker: z.enum(['closed', 'open', 'half_open']),
      consecutiveFailures: z.number().int(),
      slotsInUse: z.number().int().meta({ description: 'Tasks running on the entry now (each holds one of its slots).' }),
      maxConcurrent: z.number().int(),
      queued: z.number().int().meta({ description: 'Tasks placed on the entry and not started yet.' }),
      reconciling: z.number().int(),
    }),
  ),
  jobs: z.array(z.object({ kind: z.string(), queued: z.number().int(), running: z.number().int(), dead: z.number().int(), oldestDueSeconds: z.number() })),
  callbackDeliveries: z.object({ pending: z.number().int(), exhausted: z.number().int() }),
});

/**
 * `GET /admin/providers`: each provider entry's breaker, slots and queue depth, and the job
 * queue by kind — the figures of `/metrics` as JSON, read from the database.
 */
export function adminProviderRoutes(app: FastifyInstance, metrics: MetricsService): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/providers',
    { schema: { ...routeDocs.admin, summary: 'Provider entries (breakers, slots, queue depth) and the job queue', response: { 200: providersAnswer, '4xx': error, '5xx': error } } },
    async () => {
      const snapshot = await metrics.snapshot();
      const tasksOn = (entry: string, state: string) => snapshot.tasks.find((row) => row.provider === entry && row.state === state)?.count ?? 0;
      const jobsOf = (kind: string, state: string) => snapshot.jobs.find((row) => row.kind === kind && row.state === state)?.count ?? 0;
      return {
        providers: snapshot.providers.map((provider) => ({ ...provider, queued: tasksOn(provider.entry, 'queued'), reconciling: tasksOn(provider.entry, 'reconciling') })),
        jobs: snapshot.oldestDueSeconds.map(({ kind, seconds }) => ({
          kind,
          queued: jobsOf(kind, 'queued'),
          running: jobsOf(kind, 'running'),
          dead: jobsOf(kind, 'dead'),
          oldestDueSeconds: seconds,
        })),
        callbackDeliveries: snapshot.callbackDeliveries,
      };
    },
  );
}
