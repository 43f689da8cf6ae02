import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { MediaError } from '../../domain/errors.js';
import { checkExtendableSource, sourceFacts } from '../../domain/source-video-rules.js';
import { isTerminal, type Task } from '../../domain/task.js';
import type { MediaInfo } from '../../media/media-tools.js';
import type { ScratchSpace } from '../../media/scratch-space.js';
import type { BlobStore } from '../../ports/blob-store.js';
import type { LocalRenderer, RenderOutput } from './local-renderer.js';
import { type RenderManifest, renderManifestKey } from './render-manifest.js';
import type { TaskStore } from '../../ports/task-store.js';
import { storeResult } from '../../blobs/store-result.js';

export interface RenderDependencies {
  readonly tasks: Pick<TaskStore, 'findById' | 'saveProgress'>;
  readonly blobs: BlobStore;
  readonly renderer: LocalRenderer;
  readonly scratch: ScratchSpace;
  /** Called when the manifest is written (the task's poll then reads it at once). */
  readonly onRendered: (taskId: string) => Promise<void>;
}

/** What the worker hands a render: the job's owner, its abort signal and its logger. */
export interface RenderContext {
  readonly workerId: string;
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/** How long a render waits for disk space before it looks again. */
const DISK_FULL_RETRY_MS = 30_000;

/**
 * `local.render`: makes the video in a private work directory, moves the files into the blob
 * store, then writes the manifest last. Re-running it after a crash renders again from scratch
 * (the output is deterministic), and a render whose manifest exists is not redone.
 */
export async function renderLocal(deps: RenderDependencies, { taskId }: { taskId: string }, context: RenderContext): Promise<{ retryAfterMs: number } | void> {
  const task = await deps.tasks.findById(taskId);
  if (!task || isTerminal(task.state)) return;
  const manifestKey = renderManifestKey(taskId);
  if (!(await deps.blobs.exists(manifestKey))) {
    // A nearly full disk is not the task's fault: the render waits (without spending an attempt).
    if (!(await deps.scratch.hasRoom())) {
      context.logger.warn({ taskId }, 'render waits: the scratch disk is nearly full');
      return { retryAfterMs: DISK_FULL_RETRY_MS };
    }
    const workDir = await deps.scratch.createFor(context.workerId, taskId);
    try {
      await deps.tasks.saveProgress(taskId, 10);
      const manifest = await render(deps, task.id, workDir, context.signal);
      await deps.blobs.putJson(manifestKey, manifest);
    } finally {
      await fs.rm(workDir, { recursive: true, force: true });
    }
  }
  await deps.onRendered(taskId);
}

/**
 * The video an extension continues: its parent's result, or a video imported for it; with its
 * blob key when it is stored (a link's video is not, and its analysis is not kept).
 */
async function extensionSource(deps: RenderDependencies, task: Task, workDir: string, signal: AbortSignal): Promise<{ path: string; key: string | undefined }> {
  if (task.parentTaskId) {
    const parent = await deps.tasks.findById(task.parentTaskId);
    if (!parent?.result) throw new MediaError('the source video is no longer available');
    return { path: await storedSource(deps, parent.result.videoKey, workDir), key: parent.result.videoKey };
  }
  const { sourceVideoKey, sourceVideoUrl } = task.parameters;
  let sourcePath: string;
  let info: MediaInfo;
  if (sourceVideoKey) {
    sourcePath = await storedSource(deps, sourceVideoKey, workDir);
    info = await deps.renderer.inspect(sourcePath, signal);
  } else if (sourceVideoUrl) {
    sourcePath = path.join(workDir, 'source');
    info = await deps.renderer.importVideo(sourceVideoUrl, sourcePath, signal);
  } else {
    throw new MediaError('the extension has no source video');
  }
  checkExtendableSource(sourceFacts(info.video));
  return { path: sourcePath, key: sourceVideoKey ?? undefined };
}

/** A stored video brought into the render's work directory (ffmpeg reads local files only). */
async function storedSource(deps: RenderDependencies, key: string, workDir: string): Promise<string> {
  const destination = path.join(workDir, 'stored-source.mp4');
  if (!(await deps.blobs.copyToFile(key, destination))) throw new MediaError('the source video is no longer available');
  return destination;
}

async function render(deps: RenderDependencies, taskId: string, workDir: string, signal: AbortSignal): Promise<RenderManifest> {
  const task = (await deps.tasks.findById(taskId))!;
  const started = Date.now();
  let output: RenderOutput;
  try {
    if (task.operation === 'generate') {
      output = await deps.renderer.generate({ ...task.parameters, seed: task.seed }, workDir, signal);
    } else if (task.operation === 'extend') {
      const source = await extensionSource(deps, task, workDir, signal);
      const { aspectRatio, generateAudio, watermark } = task.parameters;
      output = await deps.renderer.extend(
        { seed: task.seed, sourcePath: source.path, sourceKey: source.key, aspectRatio, generateAudio, watermark },
        workDir,
        signal,
      );
    } else {
      const parent = task.parentTaskId ? await deps.tasks.findById(task.parentTaskId) : undefined;
      if (!parent?.result) throw new MediaError('the source video is no longer available');
      const sourcePath = await storedSource(deps, parent.result.videoKey, workDir);
      output = await deps.renderer.upscale({ sourcePath, target: task.operation === 'upgrade_4k' ? '4k' : '1080p' }, workDir, signal);
    }
  } catch (error) {
    if (error instanceof MediaError) return { status: 'failed', reason: 'input_unusable', message: error.message };
    throw error;
  }
  return {
    status: 'succeeded',
    result: await storeResult(deps.blobs, taskId, output),
    details: { ...output.details, renderSeconds: Math.round((Date.now() - started) / 100) / 10 },
  };
}
