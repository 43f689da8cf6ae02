import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { prometheusText } from '../src/http/ops/prometheus-text.js';
import { ManualClock } from './helpers/manual-clock.js';
import { startTestSegue, type TestSegue } from './helpers/test-segue.js';

const ADMIN_KEY = 'admin-key-metrics-0123456789';
const harnesses: TestSegue[] = [];
after(async () => {
  for (const harness of harnesses) await harness.close();
});

/** The samples of a Prometheus text body, by `name{labels}` as written. */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(match, `a sample line: ${line}`);
    found.set(match[1]!, Number(match[2]));
  }
  return found;
}

test('/metrics: queue depth and the oldest due job by kind, unfinished tasks, breakers and slots, callbacks, uptime; behind the admin key', async () => {
  const clock = new ManualClock();
  const harness = await startTestSegue({ runWorker: false, clock, environment: { SEGUE_ADMIN_KEY: ADMIN_KEY } });
  harnesses.push(harness);
  const { http } = harness.segue;
  for (const prompt of ['one', 'two']) {
    const created = await http.inject({ method: 'POST', url: '/api/v1/veo/generate', headers: harness.headers, payload: JSON.stringify({ prompt }) });
    assert.equal(created.json().code, 200);
  }
  clock.advance(90_000);

  assert.equal((await http.inject({ url: '/metrics' })).statusCode, 401, 'the admin key is asked for');
  assert.equal((await http.inject({ url: '/metrics', headers: { authorization: `Bearer ${harness.key}` } })).statusCode, 401, 'an API key is not enough');
  const answer = await http.inject({ url: '/metrics', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  assert.equal(answer.statusCode, 200);
  assert.equal(answer.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.match(answer.body, /^# HELP segue_jobs .+\n# TYPE segue_jobs gauge\n/);
  const found = samples(answer.body);
  const expected: Record<string, number> = {
    'segue_jobs{kind="task.start",state="queued"}': 2,
    'segue_jobs{kind="task.start",state="running"}': 0,
    'segue_jobs{kind="maintenance.sweep",state="queued"}': 1,
    'segue_jobs{kind="callback.deliver",state="dead"}': 0,
    'segue_job_oldest_due_age_seconds{kind="task.poll"}': 0,
    'segue_tasks{state="queued",provider="local"}': 2,
    'segue_tasks{state="running",provider="local"}': 0,
    'segue_provider_breaker_state{entry="local",state="closed"}': 1,
    'segue_provider_breaker_state{entry="local",state="open"}': 0,
    'segue_provider_consecutive_failures{entry="local"}': 0,
    'segue_provider_slots_in_use{entry="local"}': 0,
    'segue_provider_slots_max{entry="local"}': 1_000_000,
    'segue_callback_deliveries{state="pending"}': 0,
    'segue_callback_deliveries{state="exhausted"}': 0,
  };
  for (const [sample, value] of Object.entries(expected)) assert.equal(found.get(sample), value, sample);
  // The clock follows real time plus the 90 s the test moved it on.
  const oldest = found.get('segue_job_oldest_due_age_seconds{kind="task.start"}')!;
  assert.ok(oldest >= 90 && oldest < 95, `the oldest due start waited ${oldest} s`);
  assert.ok(found.get('segue_process_uptime_seconds')! > 0);

  const open = await startTestSegue({ runWorker: false });
  harnesses.push(open);
  const unprotected = await open.segue.http.inject({ url: '/metrics' });
  assert.equal(unprotected.statusCode, 200, 'without SEGUE_ADMIN_KEY it is open, like /readyz');
});

test('the Prometheus text writer escapes label values and help text, and writes special values', () => {
  const text = prometheusText([
    { name: 'segue_x', help: 'a \\ and a\nline', type: 'gauge', samples: [{ labels: { entry: 'a "b" \\ c\nd' }, value: 1.5 }, { value: Infinity }, { value: Number.NaN }] },
  ]);
  assert.equal(text, '# HELP segue_x a \\\\ and a\\nline\n# TYPE segue_x gauge\nsegue_x{entry="a \\"b\\" \\\\ c\\nd"} 1.5\nsegue_x +Inf\nsegue_x NaN\n');
});
