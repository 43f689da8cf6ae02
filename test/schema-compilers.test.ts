/**
 * The validator compiler's quick checks (the polled routes' query strings and path parameters
 * are taken without zod when they are plainly valid) give exactly what zod gives, and leave
 * everything else, every failure and its wording included, to zod.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { fetchQuerySchema } from '../src/http/universal/universal-requests.js';
import { videoParams } from '../src/http/openai/openai-requests.js';
import { quickCheckOf, textFieldCheck, validatorCompiler, withQuickCheck } from '../src/http/schema-compilers.js';
import { taskIdQuerySchema, taskPathParams } from '../src/http/veo/veo-requests.js';

const quicklyChecked: Record<string, z.ZodType> = { taskIdQuerySchema, taskPathParams, fetchQuerySchema, videoParams };

const texts = [
  '',
  ' ',
  '\t\n',
  '\u00a0\ufeff',
  'a',
  ' a ',
  '7050b0f69081f6517db41677f57643cc',
  ' 7050b0f69081f6517db41677f57643cc\n',
  'x'.repeat(127),
  'x'.repeat(128),
  'x'.repeat(129),
  ` ${'x'.repeat(128)} `,
  ` ${'x'.repeat(127)}\u2028`,
  '😀'.repeat(64),
  '😀'.repeat(65),
  'é\u0301',
  '__proto__',
];
const fieldNames = ['taskId', 'generation_id', 'video_id'];
const inputs: unknown[] = [
  undefined,
  null,
  'taskId',
  42,
  [],
  {},
  Object.create(null),
  ...fieldNames.flatMap((name) => [
    ...texts.map((text) => ({ [name]: text })),
    ...texts.map((text) => Object.assign(Object.create(null), { [name]: text, other: 'ignored' })),
    { [name]: ['a', 'b'] },
    { [name]: ['a'] },
    { [name]: 7 },
    { [name]: null },
    { [name]: undefined },
    { [name]: { value: 'a' } },
  ]),
];

test('each quick check gives what zod gives, and takes every plain valid value', () => {
  for (const [name, schema] of Object.entries(quicklyChecked)) {
    const quick = quickCheckOf(schema);
    assert.ok(quick, `${name} has a quick check`);
    let taken = 0;
    for (const input of inputs) {
      const parsed = schema.safeParse(input);
      const value = quick(input);
      const where = `${name} on ${JSON.stringify(input)}`;
      if (value !== undefined) {
        taken++;
        assert.ok(parsed.success, `${where}: the quick check took what zod refuses`);
        assert.deepEqual(value, parsed.data, where);
      } else if (parsed.success) {
        // The quick check leaves to zod only texts longer in UTF-16 units than in code points.
        const field: unknown = Object.values(parsed.data as object)[0];
        assert.ok(typeof field !== 'string' || field.length > 128, `${where}: a valid text left to zod`);
      }
    }
    assert.ok(taken >= 8, `${name}: the quick check took ${taken} inputs`);
  }
});

test('the validator compiler answers from a quick check first, and from zod when it has none to give', () => {
  const schema = withQuickCheck(
    z.object({ id: z.string().min(2, 'id is too short') }),
    (data) => ((data as { id?: unknown }).id === 'quick' ? { id: 'from the quick check' } : undefined),
  );
  const validate = validatorCompiler({ schema, method: 'GET', url: '/', httpPart: 'querystring' }) as (data: unknown) => { value?: unknown; error?: Array<{ message: string }> };
  assert.deepEqual(validate({ id: 'quick' }), { value: { id: 'from the quick check' } });
  assert.deepEqual(validate({ id: 'zod' }), { value: { id: 'zod' } });
  assert.equal(validate({ id: 'z' }).error?.[0]?.message, 'id is too short');
});

test('a text field check trims only when told, and leaves to zod what is too long in UTF-16 units', () => {
  const trimmed = textFieldCheck('id', { trim: true, minLength: 1, maxLength: 3 });
  const untrimmed = textFieldCheck('id', { trim: false, minLength: 1, maxLength: 3 });
  assert.deepEqual(trimmed({ id: ' abc ' }), { id: 'abc' });
  assert.equal(untrimmed({ id: ' abc ' }), undefined);
  assert.equal(trimmed({ id: '   ' }), undefined);
  assert.equal(trimmed({ id: '😀😀' }), undefined, 'four UTF-16 units (two code points, which zod takes)');
});
