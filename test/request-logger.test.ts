/**
 * Request loggers are made only when a request writes a line, and the lines they write are the
 * ones a pino child would write: the request id on every line, the route's own fields beside it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify, { LogController } from 'fastify';
import { pino } from 'pino';
import { requestLoggerFactory } from '../src/http/request-logger.js';
import { startTestSegue } from './helpers/test-segue.js';

/** A pino logger whose lines are kept, parsed. */
function keptLines(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

async function appWith(level: string) {
  const { logger, lines } = keptLines(level);
  let ids = 0;
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: requestLoggerFactory,
    genReqId: () => `request-${++ids}`,
  });
  app.get('/quiet', async (request) => ({ id: request.id }));
  app.get('/error', async (request) => {
    request.log.error({ err: new Error('it broke'), taskId: 't1' }, 'unexpected error');
    return { id: request.id };
  });
  app.get('/info', async (request) => {
    request.log.info('a line at info');
    request.log.child({ part: 'inner' }).warn('a child line');
    return { id: request.id, level: request.log.level };
  });
  return { app, lines };
}

test('a line written by a route carries its request id and its own fields; a route that writes none leaves no line', async () => {
  const { app, lines } = await appWith('info');
  const quiet = (await app.inject({ url: '/quiet' })).json();
  assert.equal(lines.length, 0);
  const broke = (await app.inject({ url: '/error' })).json();
  assert.notEqual(broke.id, quiet.id);
  assert.equal(lines.length, 1);
  assert.deepEqual({ reqId: lines[0]!['reqId'], msg: lines[0]!['msg'], taskId: lines[0]!['taskId'], level: lines[0]!['level'] }, {
    reqId: broke.id,
    msg: 'unexpected error',
    taskId: 't1',
    level: 50,
  });
  assert.equal((lines[0]!['err'] as { message: string }).message, 'it broke');
  const info = (await app.inject({ url: '/info' })).json();
  assert.equal(info.level, 'info');
  assert.deepEqual(
    lines.slice(1).map((line) => [line['reqId'], line['part'], line['msg']]),
    [
      [info.id, undefined, 'a line at info'],
      [info.id, 'inner', 'a child line'],
    ],
  );
  await app.close();
});

test('lines below the level are not written, and the next line at the level still is', async () => {
  const { app, lines } = await appWith('warn');
  const info = (await app.inject({ url: '/info' })).json();
  assert.equal(info.level, 'warn');
  assert.deepEqual(
    lines.map((line) => [line['reqId'], line['msg']]),
    [[info.id, 'a child line']],
  );
  await app.close();
});

test("Segue's routes log with the request id: an accepted generation's line names its request and task", async () => {
  const { logger, lines } = keptLines('info');
  const segue = await startTestSegue({ runWorker: false, logger });
  try {
    const created = await segue.segue.http.inject({ method: 'POST', url: '/api/v1/veo/generate', headers: segue.headers, payload: { prompt: 'a harbour at dawn' } });
    const taskId = created.json().data.taskId as string;
    const accepted = lines.find((line) => line['msg'] === 'generation accepted');
    assert.ok(accepted, 'the generation was logged');
    assert.equal(accepted['taskId'], taskId);
    assert.equal(typeof accepted['reqId'], 'string');
    assert.ok((accepted['reqId'] as string).length > 0);
  } finally {
    await segue.close();
  }
});
