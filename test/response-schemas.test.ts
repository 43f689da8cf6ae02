import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { z } from 'zod';
import { SignedLinks } from '../src/blobs/result-links.js';
import { UrlSigner } from '../src/blobs/signed-urls.js';
import type { FailureReason, Task } from '../src/domain/task.js';
import { dashboardTask, dashboardTaskView } from '../src/http/dashboard/dashboard-task-view.js';
import { OpenAiModels } from '../src/http/openai/openai-models.js';
import { OpenAiPresenter } from '../src/http/openai/openai-presenter.js';
import { openAiResponses } from '../src/http/openai/openai-responses.js';
import { serializerCompiler } from '../src/http/schema-compilers.js';
import { UniversalPresenter } from '../src/http/universal/universal-presenter.js';
import { universalResponses } from '../src/http/universal/universal-responses.js';
import { VeoPresenter, type VeoPresenterOptions } from '../src/http/veo/veo-presenter.js';
import { veoResponses } from '../src/http/veo/veo-responses.js';
import { taskFixture } from './helpers/terminal-tasks.js';

/*
 * Replies are written by fast-json-stringify from the routes' response schemas, and it drops
 * whatever a schema does not name: every shape the presenters make must come out as
 * JSON.stringify would write it.
 */

const signer = new SignedLinks(new UrlSigner('secret', 'https://segue.example', 3600, () => 1_795_000_000_000));

function assertWritten(schema: z.ZodType, reply: unknown, what: string): void {
  const write = serializerCompiler({ schema, method: 'GET', url: '/', httpStatus: '200' });
  assert.deepEqual(JSON.parse(write(reply)), JSON.parse(JSON.stringify(reply)), what);
}

const base: Task = taskFixture({
  id: 'a'.repeat(32),
  apiKeyId: 'key',
  rootTaskId: 'a'.repeat(32),
  dialect: 'veo',
  requestEcho: { prompt: 'a quiet harbour', model: 'veo3_fast' },
  price: 120,
  state: 'queued',
  progress: 0,
  createdAt: 1_795_000_000_000,
  startedAt: null,
});
const result = { videoKey: 'tasks/a/video.mp4', segmentKey: null, posterKey: 'tasks/a/poster.jpg', durationSeconds: 8, width: 1280, height: 720, fps: 24, hasAudio: true };
const succeeded = { ...base, state: 'succeeded' as const, result, startedAt: 1_795_000_001_000, finishedAt: 1_795_000_060_000 };
const reasons: FailureReason[] = ['content_policy', 'input_unusable', 'generation_failed', 'timeout', 'internal'];

/** Every kind of task a record can show: running, finished in each way, failed for each reason. */
const tasks: Array<[string, Task]> = [
  ['queued', base],
  ['running on a fallback entry', { ...base, state: 'running', provider: 'second', providerRoute: ['first', 'second'] }],
  ['reconciling', { ...base, state: 'reconciling' }],
  ['succeeded', succeeded],
  ['succeeded in 9:16', { ...succeeded, result: { ...result, width: 720, height: 1280 } }],
  ['an extension', { ...succeeded, operation: 'extend', result: { ...result, segmentKey: 'tasks/a/segment.mp4', durationSeconds: 15 } }],
  ['a 1080p upgrade', { ...succeeded, operation: 'upgrade_1080p', result: { ...result, width: 1920, height: 1080 } }],
  ['a 4K upgrade', { ...succeeded, operation: 'upgrade_4k', result: { ...result, width: 3840, height: 2160 } }],
  ['a 4K upgrade that runs', { ...base, operation: 'upgrade_4k', state: 'running' }],
  ...reasons.flatMap((reason): Array<[string, Task]> => [
    [`failed at submission: ${reason}`, { ...base, state: 'failed', failure: { stage: 'submission', reason, message: `${reason} happened` }, finishedAt: 1_795_000_002_000 }],
    [`failed in generation: ${reason}`, { ...base, state: 'failed', failure: { stage: 'generation', reason, message: `${reason} happened` }, finishedAt: 1_795_000_002_000 }],
  ]),
  [
    'failed on an unusable image',
    { ...base, state: 'failed', parameters: { ...base.parameters, imageUrls: ['https://example.com/a.png'] }, failure: { stage: 'generation', reason: 'input_unusable', message: 'not an image' }, finishedAt: 1 },
  ],
];

const presenterOptions: VeoPresenterOptions[] = [
  { timeFormat: 'datetime', extendResultUrls: 'segment', callbackUrlsAsString: false, fourKCallbackShape: 'page' },
  { timeFormat: 'epoch_ms', extendResultUrls: 'full', callbackUrlsAsString: true, fourKCallbackShape: 'openapi' },
];

test('record-info writes every field the Veo presenter makes', async () => {
  for (const options of presenterOptions) {
    const presenter = new VeoPresenter(signer, options);
    for (const [what, task] of tasks) {
      assertWritten(veoResponses.recordInfo[200], { code: 200, msg: 'success', data: await presenter.recordInfo(task) }, `${what} (${options.timeFormat})`);
    }
  }
});

test("the upgrade routes' answers and the error envelope are written whole", async () => {
  const presenter = new VeoPresenter(signer, presenterOptions[0]!);
  const files = (await presenter.fourKFiles(tasks[7]![1]))!;
  assertWritten(veoResponses.fourK[200], { code: 422, msg: 'The video has been generated successfully', data: { taskId: 'a', ...files } }, '4K finished');
  assertWritten(veoResponses.fourK[200], { code: 200, msg: 'success', data: { taskId: 'a', resultUrls: null, imageUrls: null } }, '4K started');
  assertWritten(veoResponses.fourK[200], { code: 500, msg: 'unavailable', data: { taskId: 'a' } }, '4K failed');
  assertWritten(veoResponses.fullHd[200], { code: 200, msg: 'success', data: { resultUrl: await presenter.videoUrl(succeeded) } }, '1080p');
  assertWritten(veoResponses.created[200], { code: 422, msg: 'prompt is required', data: null }, 'an error');
  assertWritten(veoResponses.credit[200], { code: 200, msg: 'success', data: 9880 }, 'credit');
});

test('the universal create and fetch write every field the presenter makes', async () => {
  const presenter = new UniversalPresenter(signer);
  assertWritten(universalResponses.created[200], presenter.created(base), 'created');
  for (const [what, task] of tasks) assertWritten(universalResponses.fetched[200], await presenter.fetched(task), what);
});

test('the OpenAI video object, list and error body are written whole', () => {
  const presenter = new OpenAiPresenter(signer, new OpenAiModels(['*']));
  const remix = { ...base, requestEcho: { model: 'veo3_fast', prompt: 'p', seconds: '15', remixed_from_video_id: 'b'.repeat(32) } };
  const videos = [...tasks.map(([, task]) => presenter.video(task)), presenter.video(remix)];
  for (const video of videos) assertWritten(openAiResponses.video[200], video, `${video.status} ${video.id}`);
  assertWritten(openAiResponses.list[200], { object: 'list', data: videos, first_id: base.id, last_id: base.id, has_more: false }, 'list');
  assertWritten(openAiResponses.video['4xx'], { error: { message: 'm', type: 'invalid_request_error', param: null, code: 'invalid_value' } }, 'error');
  assertWritten(openAiResponses.deleted[200], presenter.deleted(base.id), 'deleted');
});

test("the dashboard's task view writes every field, for a tenant and for the operator", async () => {
  const viewers = [{ role: 'operator' as const }, { role: 'tenant' as const, key: { id: 'key' } as never }];
  const withPlan = { ...succeeded, operation: 'extend' as const, extension: { method: 'bridge' as const, reason: 'the upstream holds no copy', lesser: false }, engineDetails: { engine: 'gemini' } };
  for (const viewer of viewers) {
    for (const [what, task] of [...tasks, ['a bridge extension', withPlan] as [string, Task]]) {
      assertWritten(dashboardTask, await dashboardTaskView(task, viewer, signer), `${what} (${viewer.role})`);
    }
  }
});
