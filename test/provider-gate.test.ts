import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GateLimits, ProviderGate } from '../src/engine/routing/provider-gate.js';
import type { GateChange, GateState, ProviderGateStore } from '../src/ports/provider-gate-store.js';

/** The gate rules on a store in memory (the storage contract suite checks the database's across processes). */
function gateWith(limits: GateLimits, now: () => number) {
  let stored: GateState | undefined;
  const store: ProviderGateStore = {
    find: async () => stored,
    all: async () => new Map(stored ? [['entry', stored]] : []),
    async change<T>(_entry: string, decide: (current: GateState | undefined) => GateChange<T>) {
      const { state, answer } = decide(stored);
      stored = state;
      return answer;
    },
  };
  const gate = new ProviderGate('entry', limits, store, now);
  return { gate, report: () => gate.reportOf(stored) };
}

test('request rate: a minute\'s allowance at once, then one request per 60/N s', async () => {
  let now = 0;
  const { gate } = gateWith({ maxConcurrent: 10, requestsPerMinute: 2, breakerThreshold: 5, breakerCooldownSeconds: 30 }, () => now);
  assert.equal(await gate.waitBeforeRequest(), 0);
  assert.equal(await gate.waitBeforeRequest(), 0);
  assert.equal(await gate.waitBeforeRequest(), 30_000);
  now = 30_000;
  assert.equal(await gate.waitBeforeRequest(), 0);
});

test('circuit breaker: opens after consecutive failures, lets one trial through after the cool-down, closes on success', async () => {
  let now = 0;
  const { gate, report } = gateWith({ maxConcurrent: 10, breakerThreshold: 3, breakerCooldownSeconds: 30 }, () => now);
  await gate.recordFailure('503');
  await gate.recordFailure('503');
  await gate.recordSuccess();
  await gate.recordFailure('503');
  await gate.recordFailure('503');
  assert.equal(await gate.isOpen(), false, 'a success in between resets the count');
  await gate.recordFailure('503 UNAVAILABLE');
  assert.equal(await gate.isOpen(), true);
  assert.equal(report().breaker, 'open');
  assert.equal(await gate.waitBeforeRequest(), 30_000);
  now = 30_000;
  assert.equal(report().breaker, 'half_open');
  assert.equal(await gate.waitBeforeRequest(), 0, 'one trial');
  assert.ok((await gate.waitBeforeRequest()) > 0, 'and only one');
  assert.equal(await gate.isOpen(), true, 'new tasks go elsewhere while the trial is out');
  await gate.recordFailure('still 503');
  assert.equal(await gate.isOpen(), true, 'a failed trial opens it again');
  now = 60_000;
  assert.equal(await gate.waitBeforeRequest(), 0);
  await gate.recordSuccess();
  assert.deepEqual(report(), { breaker: 'closed', consecutiveFailures: 0, maxConcurrent: 10, lastFailure: 'still 503' });
});

test('a trial whose worker died does not hold the breaker half-open for ever', async () => {
  let now = 0;
  const { gate } = gateWith({ maxConcurrent: 10, breakerThreshold: 1, breakerCooldownSeconds: 30 }, () => now);
  await gate.recordFailure('503');
  now = 30_000;
  assert.equal(await gate.waitBeforeRequest(), 0, 'the trial is taken, and its worker dies');
  assert.ok((await gate.waitBeforeRequest()) > 0);
  now += 61_000;
  assert.equal(await gate.waitBeforeRequest(), 0, 'after the trial\'s hold, the next request is the trial');
});
