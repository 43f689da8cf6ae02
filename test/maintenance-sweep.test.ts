import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { FsBlobStore } from '../src/blobs/fs-blob-store.js';
import { sweepExpired } from '../src/engine/maintenance/sweep-expired.js';
import { startTestSegue } from './helpers/test-segue.js';
import { taskFixture } from './helpers/terminal-tasks.js';

test('the sweep removes uploads no task names once they are an hour old, and keeps every upload a task uses', async () => {
  const harness = await startTestSegue({ runWorker: false });
  try {
    const blobs = new FsBlobStore(path.join(harness.dataDir, 'blobs'));
    const put = async (key: string, ageMs: number) => {
      const file = path.join(harness.dataDir, 'upload.bin');
      fs.writeFileSync(file, 'video bytes');
      await blobs.putFile(key, file);
      const when = new Date(Date.now() - ageMs);
      fs.utimesSync(path.join(harness.dataDir, 'blobs', key), when, when);
    };
    await put('imports/orphan/source.mp4', 2 * 3_600_000);
    await put('imports/used/source.mp4', 2 * 3_600_000);
    await put('imports/fresh/source.mp4', 60_000);
    const key = (await harness.segue.keys.authenticate(harness.key))!;
    const fixture = taskFixture({ apiKeyId: key.id });
    await harness.segue.storage.tasks.insert({ ...fixture, parameters: { ...fixture.parameters, sourceVideoKey: 'imports/used/source.mp4' } });

    const context = { jobId: 'j', workerId: 'w', attempt: 1, signal: new AbortController().signal, logger: pino({ level: 'silent' }) };
    await sweepExpired({ storage: harness.segue.storage, blobs, now: Date.now }, context);
    assert.equal(await blobs.exists('imports/orphan/source.mp4'), false, 'an hour-old upload no task names is removed');
    assert.equal(await blobs.exists('imports/used/source.mp4'), true, 'an upload a task uses stays');
    assert.equal(await blobs.exists('imports/fresh/source.mp4'), true, 'a fresh upload may still be about to be named');
  } finally {
    await harness.close();
  }
});
