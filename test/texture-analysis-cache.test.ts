import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { TextureAnalysisCache } from '../src/providers/local/texture-analysis.js';
import { temporaryDirectory } from './helpers/test-segue.js';

const analysisOf = (count: number, value: number) => ({ count, distances: new Float32Array(count * count).fill(value) });

test('kept analyses: computed once per key, read back exactly, bounded in bytes with the least recently used dropped first', async () => {
  const directory = temporaryDirectory('segue-analysis-');
  try {
    const entryBytes = 8 + 10 * 10 * 4;
    const cache = new TextureAnalysisCache(directory, entryBytes * 2);
    let computed = 0;
    const compute = (value: number) => async () => {
      computed++;
      return analysisOf(10, value);
    };
    const first = await cache.getOrCompute('a', compute(0.5));
    assert.equal(first.reused, false);
    const again = await cache.getOrCompute('a', compute(0.9));
    assert.equal(again.reused, true);
    assert.equal(again.analysis.count, 10);
    assert.deepEqual(again.analysis.distances, analysisOf(10, 0.5).distances, 'the kept analysis, not a new one');
    assert.equal(computed, 1);

    await cache.getOrCompute('b', compute(0.25));
    // Make `a` the most recently used, then add a third: `b` goes.
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(directory, 'b.distances'), past, past);
    assert.equal((await cache.getOrCompute('a', compute(0.9))).reused, true);
    await cache.getOrCompute('c', compute(0.75));
    assert.deepEqual(fs.readdirSync(directory).sort(), ['a.distances', 'c.distances']);
    assert.equal((await cache.getOrCompute('b', compute(0.25))).reused, false, 'a dropped analysis is computed again');
    assert.deepEqual([cache.computed, cache.reused], [4, 2]);

    fs.writeFileSync(path.join(directory, 'c.distances'), 'not an analysis');
    assert.equal((await cache.getOrCompute('c', compute(0.75))).reused, false, 'an unreadable file counts as absent');
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
});
