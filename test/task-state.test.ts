import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canTransition, isTerminal, type TaskState } from '../src/domain/task.js';

const states: TaskState[] = ['queued', 'running', 'reconciling', 'succeeded', 'failed'];

test('tasks move forward only: queued → running → (reconciling →) succeeded | failed', () => {
  const allowed = new Set([
    'queued>running', 'queued>failed',
    'running>reconciling', 'running>succeeded', 'running>failed',
    'reconciling>succeeded', 'reconciling>failed',
  ]);
  for (const from of states) {
    for (const to of states) {
      assert.equal(canTransition(from, to), allowed.has(`${from}>${to}`), `${from} → ${to}`);
    }
  }
});

test('succeeded and failed are terminal; reconciling is not (its hold is kept and it is still polled)', () => {
  assert.deepEqual(states.filter(isTerminal), ['succeeded', 'failed']);
});
