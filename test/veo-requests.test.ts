import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../src/domain/errors.js';
import {
  extendBodySchema,
  generateBodySchema,
  generateEcho,
  generationParameters,
  parseBody,
} from '../src/http/veo/veo-requests.js';

const generate = (body: unknown) => generationParameters(parseBody(generateBodySchema, body));

function refused(body: unknown, fragment: RegExp, schema: 'generate' | 'extend' = 'generate') {
  assert.throws(
    () => (schema === 'generate' ? generate(body) : parseBody(extendBodySchema, body)),
    (error: unknown) => error instanceof ValidationError && fragment.test(error.message),
    `expected ${JSON.stringify(body)} to be refused with ${fragment}`,
  );
}

test('a bare prompt is a 16:9 text-to-video on veo3_fast', () => {
  assert.deepEqual(generate({ prompt: ' a cat ' }), {
    prompt: 'a cat',
    model: 'veo3_fast',
    aspectRatio: '16:9',
    mode: 'text',
    imageUrls: [],
    watermark: null,
    negativePrompt: null,
    durationSeconds: 8,
    resolution: '720p',
    generateAudio: true,
    sourceVideoUrl: null,
    sourceVideoKey: null,
  });
});

test('both aspect ratio spellings are accepted, Auto case-insensitively', () => {
  assert.equal(generate({ prompt: 'x', aspectRatio: '9:16' }).aspectRatio, '9:16');
  assert.equal(generate({ prompt: 'x', aspect_ratio: '9:16' }).aspectRatio, '9:16');
  assert.equal(generate({ prompt: 'x', aspectRatio: 'Auto', imageUrls: ['https://e.com/a.png'] }).aspectRatio, 'auto');
  assert.equal(generate({ prompt: 'x', aspectRatio: 'auto' }).aspectRatio, '16:9', 'Auto without an image is 16:9');
  refused({ prompt: 'x', aspectRatio: '4:3' }, /aspectRatio must be one of/);
});

test('generationType is inferred from imageUrls and checked against them', () => {
  assert.equal(generate({ prompt: 'x', imageUrls: ['https://e.com/a.png'] }).mode, 'first_and_last_frames');
  assert.equal(
    generate({ prompt: 'x', model: 'veo3_fast', generationType: 'REFERENCE_2_VIDEO', imageUrls: ['https://e.com/a.png'] }).mode,
    'reference_images',
  );
  refused({ prompt: 'x', generationType: 'REFERENCE_2_VIDEO', model: 'veo3', imageUrls: ['https://e.com/a.png'] }, /veo3_fast/);
  refused({ prompt: 'x', generationType: 'TEXT_2_VIDEO', imageUrls: ['https://e.com/a.png'] }, /TEXT_2_VIDEO takes no imageUrls/);
  refused({ prompt: 'x', generationType: 'FIRST_AND_LAST_FRAMES_2_VIDEO', imageUrls: ['https://e.com/1', 'https://e.com/2', 'https://e.com/3'] }, /1 or 2/);
  refused({ prompt: 'x', imageUrls: ['a', 'b', 'c', 'd'] }, /at most 3/);
  refused({ prompt: 'x', imageUrls: ['file:///etc/passwd'] }, /http\(s\) URLs/);
});

test('seeds must be 10000–99999; seed is an alias', () => {
  assert.equal(parseBody(generateBodySchema, { prompt: 'x', seed: 12345 }).seed, 12345);
  assert.equal(parseBody(generateBodySchema, { prompt: 'x', seeds: '54321' }).seeds, 54321);
  for (const seeds of [9999, 100000, 12345.5, 'abc', true]) {
    refused({ prompt: 'x', seeds }, /seeds must be an integer between 10000 and 99999/);
  }
});

test('missing or empty prompt, bad enums and non-objects are refused with a clear message', () => {
  refused({}, /prompt is required/);
  refused({ prompt: '   ' }, /prompt is required/);
  refused({ prompt: 'x', model: 'veo2' }, /model must be one of veo3, veo3_fast, veo3_lite/);
  refused({ prompt: 'x', enableTranslation: 'yes' }, /enableTranslation must be true or false/);
  refused({ prompt: 'x', watermark: 'w'.repeat(101) }, /watermark must be at most 100 characters/);
  refused([], /JSON object/);
  refused('prompt', /JSON object/);
  refused({ prompt: 'x' }, /taskId is required/, 'extend');
  refused({ taskId: 'abc' }, /prompt is required/, 'extend');
  refused({ taskId: 'abc', prompt: 'x', model: 'slow' }, /model must be fast or quality/, 'extend');
});

test('unknown and deprecated fields are accepted and ignored; empty callBackUrl means none', () => {
  const body = parseBody(generateBodySchema, {
    prompt: 'x',
    resolution: '1080p',
    duration: 8,
    enableFallback: true,
    somethingNew: { a: 1 },
    callBackUrl: '',
  });
  assert.equal(body.callBackUrl, null);
  assert.equal('somethingNew' in body, false);
});

test('paramJson echoes the request as understood, with aspectRatio spelled camelCase', () => {
  const body = parseBody(generateBodySchema, { prompt: 'x', aspect_ratio: '9:16', seed: 22222, watermark: 'Brand' });
  const parameters = generationParameters(body);
  assert.deepEqual(generateEcho(body, parameters, 22222), {
    prompt: 'x',
    model: 'veo3_fast',
    generationType: 'TEXT_2_VIDEO',
    aspectRatio: '9:16',
    seeds: 22222,
    enableFallback: false,
    enableTranslation: true,
    waterMark: 'Brand',
  });
});
