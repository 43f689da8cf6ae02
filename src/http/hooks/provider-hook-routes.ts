import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WEBHOOK_TASK_PARAMETER } from '../../ports/video-provider.js';
import type { ProviderHookService } from '../../services/provider-hook-service.js';
import { routeDocs } from '../openapi.js';

/** Webhook bodies are small notices; anything larger is not one. */
const hookBodyLimit = 64 * 1024;

const error = z.object({ error: z.string() });

/**
 * `POST /hooks/:entry`: an upstream's webhook for one provider entry (the URL Segue hands that
 * entry's upstream). The entry's plug-in verifies it; unknown entries are 404, forged or stale
 * deliveries 401, redeliveries answered without acting again.
 */
export async function providerHookRoutes(app: FastifyInstance, hooks: ProviderHookService): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: hookBodyLimit }, (_request, body, done) => done(null, body));

  app.withTypeProvider<ZodTypeProvider>().post(
    '/hooks/:entry',
    {
      schema: {
        ...routeDocs.hooks,
        summary: "An upstream's webhook for one provider entry",
        params: z.object({ entry: z.string().meta({ description: 'The provider entry the webhook URL was handed to.' }) }),
        // Some upstreams (Replicate) echo nothing of Segue's: the URL Segue gave names the task.
        querystring: z.object({ [WEBHOOK_TASK_PARAMETER]: z.string().max(64).optional().meta({ description: 'The task the webhook URL was made for, when the upstream body does not name it.' }) }),
        // The raw text: the entry's plug-in verifies its signature over these very bytes.
        body: z.string().nullable().transform((body) => body ?? ''),
        response: { 200: z.object({ status: z.enum(['accepted', 'duplicate']) }), 401: error, 404: error },
      },
    },
    async (request, reply) => {
      const { entry } = request.params;
      const outcome = await hooks.receive(entry, request.headers, request.body, request.query);
      if (outcome === 'unknown_entry') return reply.code(404).send({ error: 'no provider entry takes webhooks here' });
      if (outcome === 'refused') return reply.code(401).send({ error: 'invalid or stale webhook signature' });
      request.log.info({ entry, outcome }, 'provider webhook received');
      return reply.code(200).send({ status: outcome });
    },
  );
}
