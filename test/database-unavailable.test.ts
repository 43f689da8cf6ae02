/**
 * The database away for a moment (here: SQLite's write lock held by another process past the busy
 * timeout) is answered in each dialect's own "unavailable, try again" with Retry-After — never an
 * "unexpected" 500 — with nothing written, and the same request goes through once the lock is free.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { startTestSegue } from './helpers/test-segue.js';

test('requests that cannot write because the database is locked elsewhere get each dialect\'s retryable answer, and nothing is created', async () => {
  const test = await startTestSegue({ runWorker: false, environment: { SEGUE_SQLITE_BUSY_TIMEOUT_MS: '200' } });
  const app = test.segue.http;
  const other = new SqliteDatabase(path.join(test.dataDir, 'segue.db'));
  try {
    other.exec('BEGIN IMMEDIATE');
    const veo = await app.inject({ method: 'POST', url: '/api/v1/veo/generate', headers: test.headers, payload: { prompt: 'a lighthouse at dusk' } });
    assert.equal(veo.statusCode, 200);
    assert.deepEqual(veo.json(), { code: 500, msg: 'Internal Error, Please try again later.', data: null });
    assert.ok(Number(veo.headers['retry-after']) >= 1);

    const universal = await app.inject({
      method: 'POST',
      url: '/v2/video/generations',
      headers: test.headers,
      payload: { model: 'google/veo-3.1-t2v', prompt: 'a lighthouse at dusk' },
    });
    assert.equal(universal.statusCode, 503);
    assert.equal(universal.json().message, 'Service unavailable');
    assert.ok(Number(universal.headers['retry-after']) >= 1);

    const openai = await app.inject({ method: 'POST', url: '/v1/videos', headers: test.headers, payload: { model: 'veo3_fast', prompt: 'a lighthouse at dusk' } });
    assert.equal(openai.statusCode, 503);
    assert.equal(openai.json().error.type, 'server_error');
    assert.equal(openai.json().error.code, 'server_busy');
    assert.notEqual(openai.headers['x-should-retry'], 'false');
    other.exec('COMMIT');

    const listed = await app.inject({ method: 'GET', url: '/v1/videos', headers: test.headers });
    assert.equal(listed.statusCode, 200);
    assert.equal(listed.json().data.length, 0, 'nothing was created while the lock was held');
    const again = await app.inject({ method: 'POST', url: '/api/v1/veo/generate', headers: test.headers, payload: { prompt: 'a lighthouse at dusk' } });
    assert.equal(again.json().code, 200, 'the same request goes through once the lock is free');
  } finally {
    other.close();
    await test.close();
  }
});
