import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { UnauthorizedError } from '../../domain/errors.js';
import type { MetricsService, MetricsSnapshot } from '../../services/metrics-service.js';
import { authenticateAdmin } from '../auth.js';
import { routeDocs } from '../openapi.js';
import { type MetricFamily, PROMETHEUS_CONTENT_TYPE, prometheusText } from './prometheus-text.js';

/** What `/metrics` needs: the figures, and the key it asks for. */
export interface MetricsRouteDependencies {
  readonly metrics: MetricsService;
  /** SEGUE_ADMIN_KEY: when set, `/metrics` asks for it as a Bearer token; without it, `/metrics` is open like `/readyz`. */
  readonly adminKey: string | undefined;
}

const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;

/** The snapshot as Prometheus metric families (every name prefixed `segue_`). */
function metricFamilies(snapshot: MetricsSnapshot): MetricFamily[] {
  const gauge = (name: string, help: string, samples: MetricFamily['samples']): MetricFamily => ({ name: `segue_${name}`, help, type: 'gauge', samples });
  return [
    gauge('jobs', 'Jobs queued, running or dead, by kind and state (the queue depth).', snapshot.jobs.map(({ kind, state, count }) => ({ labels: { kind, state }, value: count }))),
    gauge(
      'job_oldest_due_age_seconds',
      'How long the longest-due queued job of each kind has been due (0: none is due). Growing: too few workers for the kind.',
      snapshot.oldestDueSeconds.map(({ kind, seconds }) => ({ labels: { kind }, value: seconds })),
    ),
    gauge('tasks', 'Unfinished tasks by state and provider entry.', snapshot.tasks.map(({ state, provider, count }) => ({ labels: { state, provider }, value: count }))),
    gauge(
      'provider_breaker_state',
      "Each provider entry's circuit breaker: 1 for the state it is in, 0 for the others.",
      snapshot.providers.flatMap(({ entry, breaker }) => BREAKER_STATES.map((state) => ({ labels: { entry, state }, value: breaker === state ? 1 : 0 }))),
    ),
    gauge('provider_consecutive_failures', 'Consecutive failed creates on each provider entry.', snapshot.providers.map(({ entry, consecutiveFailures }) => ({ labels: { entry }, value: consecutiveFailures }))),
    gauge('provider_slots_in_use', 'Tasks running on each provider entry (each holds a slot).', snapshot.providers.map(({ entry, slotsInUse }) => ({ labels: { entry }, value: slotsInUse }))),
    gauge('provider_slots_max', "Each provider entry's maxConcurrent.", snapshot.providers.map(({ entry, maxConcurrent }) => ({ labels: { entry }, value: maxConcurrent }))),
    gauge('callback_deliveries', 'Callback deliveries still being attempted (pending) and given up (exhausted).', [
      { labels: { state: 'pending' }, value: snapshot.callbackDeliveries.pending },
      { labels: { state: 'exhausted' }, value: snapshot.callbackDeliveries.exhausted },
    ]),
    gauge('process_uptime_seconds', 'Seconds since this process started.', [{ value: snapshot.uptimeSeconds }]),
  ];
}

/**
 * `GET /metrics`: the Prometheus text format. The figures come from the database (the same from
 * every process), the uptime from the process that answers. With SEGUE_ADMIN_KEY set it asks for
 * that key (Bearer), since queue depths and provider states are operators' business.
 */
export async function metricsRoutes(app: FastifyInstance, deps: MetricsRouteDependencies): Promise<void> {
  if (deps.adminKey) authenticateAdmin(app, deps.adminKey);
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof UnauthorizedError) return reply.code(401).send({ error: 'admin key required' });
    request.log.error({ err: error }, 'metrics failed');
    return reply.code(500).send({ error: 'Internal server error' });
  });
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get(
    '/metrics',
    {
      schema: {
        ...routeDocs.ops,
        // The admin key when SEGUE_ADMIN_KEY is set; nothing otherwise.
        security: [{ adminKey: [] }, {}],
        summary: 'Queue depths, tasks, provider breakers and slots, callbacks, uptime (Prometheus text format)',
        response: {
          200: { description: 'The Prometheus text exposition format, version 0.0.4.', content: { 'text/plain': { schema: z.string() } } },
          401: z.object({ error: z.string() }),
          500: z.object({ error: z.string() }),
        },
      },
    },
    async (_request, reply) => reply.type(PROMETHEUS_CONTENT_TYPE).send(prometheusText(metricFamilies(await deps.metrics.snapshot()))),
  );
}
