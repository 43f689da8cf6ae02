import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canTransition, isTerminal, type TaskState } from '../src/domain/task.js';

const states: TaskState[] = ['queued', 'running', 'succeeded', 'failed'];

test('tasks move forward only: queued → running → succeeded | failed', () => {
  const allowed = new Set(['queued>running', 'queued>failed', 'running>succeeded', 'running>failed']);
  for (const from of states) {
    for (const to of states) {
      assert.equal(canTransition(from, to), allowed.has(`${from}>${to}`), `${from} → ${to}`);
    }
  }
});

test('succeeded and failed are terminal', () => {
  assert.deepEqual(states.filter(isTerminal), ['succeeded', 'failed']);
});
