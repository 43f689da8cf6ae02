import Fastify from 'fastify';

/**
 * The baseline: a bare Fastify hello-world, to measure Segue's routes against on this machine.
 * `/same-payload` answers with a fixed body of record-info's size, which separates what the
 * bytes on the wire cost from what Segue's own work costs.
 */
const app = Fastify({ logger: false });
const samePayload = JSON.parse(process.env['SAME_PAYLOAD'] ?? '{}');
app.get('/', async () => ({ hello: 'world' }));
app.get('/same-payload', async () => samePayload);
const port = Number(process.env['PORT'] ?? 0);
await app.listen({ host: '127.0.0.1', port });
