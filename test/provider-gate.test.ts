import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProviderGate } from '../src/engine/routing/provider-gate.js';

test('request rate: a minute\'s allowance at once, then one request per 60/N s', () => {
  let now = 0;
  const gate = new ProviderGate({ maxConcurrent: 10, requestsPerMinute: 2, breakerThreshold: 5, breakerCooldownSeconds: 30 }, () => now);
  assert.equal(gate.waitBeforeRequest(), 0);
  assert.equal(gate.waitBeforeRequest(), 0);
  assert.equal(gate.waitBeforeRequest(), 30_000);
  now = 30_000;
  assert.equal(gate.waitBeforeRequest(), 0);
});

test('circuit breaker: opens after consecutive failures, lets one trial through after the cool-down, closes on success', () => {
  let now = 0;
  const gate = new ProviderGate({ maxConcurrent: 10, breakerThreshold: 3, breakerCooldownSeconds: 30 }, () => now);
  gate.recordFailure('503');
  gate.recordFailure('503');
  gate.recordSuccess();
  gate.recordFailure('503');
  gate.recordFailure('503');
  assert.equal(gate.isOpen(), false, 'a success in between resets the count');
  gate.recordFailure('503 UNAVAILABLE');
  assert.equal(gate.isOpen(), true);
  assert.equal(gate.report().breaker, 'open');
  assert.equal(gate.waitBeforeRequest(), 30_000);
  now = 30_000;
  assert.equal(gate.report().breaker, 'half_open');
  assert.equal(gate.waitBeforeRequest(), 0, 'one trial');
  assert.ok(gate.waitBeforeRequest() > 0, 'and only one');
  gate.recordFailure('still 503');
  assert.equal(gate.isOpen(), true, 'a failed trial opens it again');
  now = 60_000;
  assert.equal(gate.waitBeforeRequest(), 0);
  gate.recordSuccess();
  assert.deepEqual(gate.report(), { breaker: 'closed', consecutiveFailures: 0, maxConcurrent: 10, lastFailure: 'still 503' });
});
