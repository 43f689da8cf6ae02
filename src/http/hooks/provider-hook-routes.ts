import type { FastifyInstance } from 'fastify';
import type { ProviderHookService } from '../../services/provider-hook-service.js';

/** Webhook bodies are small notices; anything larger is not one. */
const hookBodyLimit = 64 * 1024;

/**
 * `POST /hooks/:entry`: an upstream's webhook for one provider entry (the URL Segue hands that
 * entry's upstream). The entry's plug-in verifies it; unknown entries are 404, forged or stale
 * deliveries 401, redeliveries answered without acting again.
 */
export async function providerHookRoutes(app: FastifyInstance, hooks: ProviderHookService): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: hookBodyLimit }, (_request, body, done) => done(null, body));

  app.post('/hooks/:entry', async (request, reply) => {
    const { entry } = request.params as { entry: string };
    const rawBody = typeof request.body === 'string' ? request.body : '';
    const outcome = await hooks.receive(entry, request.headers, rawBody);
    if (outcome === 'unknown_entry') return reply.code(404).send({ error: 'no provider entry takes webhooks here' });
    if (outcome === 'refused') return reply.code(401).send({ error: 'invalid or stale webhook signature' });
    request.log.info({ entry, outcome }, 'provider webhook received');
    return reply.code(200).send({ status: outcome });
  });
}
