import { newTaskId } from '../../src/domain/ids.js';
import type { Task, TaskResult } from '../../src/domain/task.js';
import { TaskLifecycle } from '../../src/engine/lifecycle/task-lifecycle.js';
import type { Storage } from '../../src/ports/storage.js';

/** The stored result of an 8 s, 720p video with sound, as the engine records one. */
export function storedResult(taskId: string): TaskResult {
  return {
    videoKey: `tasks/${taskId}/video.mp4`,
    segmentKey: null,
    posterKey: `tasks/${taskId}/poster.jpg`,
    durationSeconds: 8,
    width: 1280,
    height: 720,
    fps: 24,
    hasAudio: true,
  };
}

/** Ends a queued task the way the engine does: running, then succeeded through the real lifecycle. */
export async function succeedQueuedTask(storage: Storage, taskId: string): Promise<Task> {
  await storage.tasks.transition(taskId, 'queued', { to: 'running', at: Date.now() });
  await new TaskLifecycle(storage).succeed((await storage.tasks.findById(taskId))!, storedResult(taskId));
  return (await storage.tasks.findById(taskId))!;
}

/** A running local task of `apiKeyId` as the engine stores one, with any fields overridden. */
export function taskFixture(fields: Partial<Task> & { apiKeyId: string }): Task {
  const id = fields.id ?? newTaskId();
  return {
    id,
    operation: 'generate',
    parentTaskId: null,
    rootTaskId: id,
    dialect: 'veo',
    parameters: { prompt: 'callback test', model: 'veo3_fast', aspectRatio: '16:9', mode: 'text', imageUrls: [], watermark: null, negativePrompt: null, durationSeconds: 8, resolution: '720p', generateAudio: true, sourceVideoUrl: null, sourceVideoKey: null },
    requestEcho: { prompt: 'callback test' },
    providerRoute: ['local'],
    upstreamOutput: null,
    seed: 12345,
    price: 0,
    callbackUrl: null,
    provider: 'local',
    providerHandle: null,
    extension: null,
    state: 'running',
    progress: 50,
    failure: null,
    result: null,
    engineDetails: null,
    createdAt: Date.now(),
    startedAt: Date.now(),
    finishedAt: null,
    ...fields,
  };
}

/**
 * Stores a running task owned by `apiKeyId` and ends it through the real lifecycle (the same
 * transaction that writes the callback outbox), without rendering anything: a process's own
 * `lifecycle` (as its engine ends tasks, handing their callbacks to its worker), or a new one.
 */
export async function endTask(
  storage: Storage,
  apiKeyId: string,
  callbackUrl: string,
  outcome: 'succeed' | 'fail' = 'succeed',
  lifecycle: TaskLifecycle = new TaskLifecycle(storage),
): Promise<Task> {
  const task = taskFixture({ apiKeyId, callbackUrl, requestEcho: { prompt: 'callback test', callBackUrl: callbackUrl } });
  const id = task.id;
  await storage.tasks.insert(task);
  if (outcome === 'succeed') {
    await lifecycle.succeed(task, storedResult(id));
  } else {
    await lifecycle.fail(id, { stage: 'generation', reason: 'generation_failed', message: 'the model gave up' });
  }
  return (await storage.tasks.findById(id))!;
}
