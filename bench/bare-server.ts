import Fastify from 'fastify';

/** The baseline: a bare Fastify hello-world, to measure Segue's routes against on this machine. */
const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
const port = Number(process.env['PORT'] ?? 0);
app.listen({ host: '127.0.0.1', port }).then(() => process.send?.('ready'));
