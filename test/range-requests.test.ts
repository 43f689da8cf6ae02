import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNotModified, rangeStillApplies, requestedRange } from '../src/http/files/range-requests.js';

test('Range headers: one range is served, an unsatisfiable one is a 416, anything else means the whole file', () => {
  const cases: Array<[string | undefined, ReturnType<typeof requestedRange>]> = [
    [undefined, undefined],
    ['bytes=0-0', { start: 0, end: 0 }],
    ['bytes=10-19', { start: 10, end: 19 }],
    ['bytes=990-', { start: 990, end: 999 }],
    ['bytes=990-5000', { start: 990, end: 999 }],
    ['bytes=-10', { start: 990, end: 999 }],
    ['bytes=-5000', { start: 0, end: 999 }],
    ['BYTES = 1 - 2', { start: 1, end: 2 }],
    ['bytes=1000-', 'unsatisfiable'],
    ['bytes=1000-1001', 'unsatisfiable'],
    ['bytes=-0', 'unsatisfiable'],
    ['bytes=20-10', undefined],
    ['bytes=0-1,5-6', undefined],
    ['bytes=-', undefined],
    ['items=0-1', undefined],
    ['bytes=a-b', undefined],
  ];
  for (const [header, expected] of cases) assert.deepEqual(requestedRange(header, 1000), expected, String(header));
  assert.equal(requestedRange('bytes=0-', 0), 'unsatisfiable', 'an empty file has no bytes to ask for');
  assert.equal(requestedRange('bytes=-1', 0), 'unsatisfiable');
});

test('conditional requests: If-None-Match before If-Modified-Since; If-Range needs this exact version', () => {
  const info = { size: 1, contentType: 'video/mp4', etag: '"abc"', lastModified: new Date('2030-01-01T10:00:00.500Z') };
  assert.equal(isNotModified({}, info), false);
  assert.equal(isNotModified({ 'if-none-match': '"abc"' }, info), true);
  assert.equal(isNotModified({ 'if-none-match': '"x", W/"abc"' }, info), true, 'If-None-Match compares weakly');
  assert.equal(isNotModified({ 'if-none-match': '*' }, info), true);
  assert.equal(isNotModified({ 'if-none-match': '"x"', 'if-modified-since': 'Tue, 01 Jan 2030 10:00:00 GMT' }, info), false, 'an ETag list outranks the date');
  assert.equal(isNotModified({ 'if-modified-since': 'Tue, 01 Jan 2030 10:00:00 GMT' }, info), true, 'HTTP dates have whole seconds');
  assert.equal(isNotModified({ 'if-modified-since': 'Tue, 01 Jan 2030 09:59:59 GMT' }, info), false);
  assert.equal(rangeStillApplies({}, info), true);
  assert.equal(rangeStillApplies({ 'if-range': '"abc"' }, info), true);
  assert.equal(rangeStillApplies({ 'if-range': 'W/"abc"' }, info), false, 'If-Range compares strongly');
  assert.equal(rangeStillApplies({ 'if-range': '"old"' }, info), false);
  assert.equal(rangeStillApplies({ 'if-range': 'Tue, 01 Jan 2030 10:00:00 GMT' }, info), true);
  assert.equal(rangeStillApplies({ 'if-range': 'Tue, 01 Jan 2030 09:00:00 GMT' }, info), false);
});
