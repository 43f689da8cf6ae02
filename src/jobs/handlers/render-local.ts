import fs from 'node:fs/promises';
import path from 'node:path';
import { MediaError } from '../../domain/errors.js';
import { checkExtendableSource } from '../../domain/source-video-rules.js';
import { isTerminal, type Task } from '../../domain/task.js';
import type { MediaInfo } from '../../media/media-tools.js';
import type { BlobStore } from '../../ports/blob-store.js';
import type { LocalRenderer, RenderOutput } from '../../providers/local/local-renderer.js';
import { type RenderManifest, renderManifestKey } from '../../providers/local/render-manifest.js';
import type { Storage } from '../../storage/storage.js';
import { taskJobKey } from '../job-kinds.js';
import { storeResult } from './store-result.js';
import type { JobContext } from '../worker.js';

export interface RenderDependencies {
  readonly storage: Storage;
  readonly blobs: BlobStore;
  readonly renderer: LocalRenderer;
  readonly workDirectory: string;
}

/**
 * `local.render`: makes the video in a private work directory, moves the files into the blob
 * store, then writes the manifest last. Re-running it after a crash renders again from scratch
 * (the output is deterministic), and a render whose manifest exists is not redone.
 */
export async function renderLocal(deps: RenderDependencies, { taskId }: { taskId: string }, context: JobContext): Promise<void> {
  const task = await deps.storage.tasks.findById(taskId);
  if (!task || isTerminal(task.state)) return;
  const manifestKey = renderManifestKey(taskId);
  if (!(await deps.blobs.exists(manifestKey))) {
    await fs.mkdir(deps.workDirectory, { recursive: true });
    const workDir = await fs.mkdtemp(path.join(deps.workDirectory, `${taskId}-`));
    try {
      await deps.storage.tasks.saveProgress(taskId, 10);
      const manifest = await render(deps, task.id, workDir, context.signal);
      await deps.blobs.putJson(manifestKey, manifest);
    } finally {
      await fs.rm(workDir, { recursive: true, force: true });
    }
  }
  await deps.storage.jobs.wake(taskJobKey('task.poll', taskId));
}

/** The video an extension continues: its parent's result, or a video imported for it. */
async function extensionSource(deps: RenderDependencies, task: Task, workDir: string, signal: AbortSignal): Promise<string> {
  if (task.parentTaskId) {
    const parent = await deps.storage.tasks.findById(task.parentTaskId);
    if (!parent?.result) throw new MediaError('the source video is no longer available');
    return deps.blobs.localPath(parent.result.videoKey);
  }
  const { sourceVideoKey, sourceVideoUrl } = task.parameters;
  let sourcePath: string;
  let info: MediaInfo;
  if (sourceVideoKey) {
    sourcePath = await deps.blobs.localPath(sourceVideoKey);
    info = await deps.renderer.inspect(sourcePath, signal);
  } else if (sourceVideoUrl) {
    sourcePath = path.join(workDir, 'source');
    info = await deps.renderer.importVideo(sourceVideoUrl, sourcePath, signal);
  } else {
    throw new MediaError('the extension has no source video');
  }
  checkExtendableSource(info.video && { durationSeconds: info.video.durationSeconds, width: info.video.width, height: info.video.height });
  return sourcePath;
}

async function render(deps: RenderDependencies, taskId: string, workDir: string, signal: AbortSignal): Promise<RenderManifest> {
  const task = (await deps.storage.tasks.findById(taskId))!;
  const started = Date.now();
  let output: RenderOutput;
  try {
    if (task.operation === 'generate') {
      output = await deps.renderer.generate({ ...task.parameters, seed: task.seed }, workDir, signal);
    } else if (task.operation === 'extend') {
      const sourcePath = await extensionSource(deps, task, workDir, signal);
      const { aspectRatio, generateAudio, watermark } = task.parameters;
      output = await deps.renderer.extend({ seed: task.seed, sourcePath, aspectRatio, generateAudio, watermark }, workDir, signal);
    } else {
      const parent = task.parentTaskId ? await deps.storage.tasks.findById(task.parentTaskId) : undefined;
      if (!parent?.result) throw new MediaError('the source video is no longer available');
      const sourcePath = await deps.blobs.localPath(parent.result.videoKey);
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

/**
 * Removes work directories left by renders whose process died (SIGKILL, power loss). Only old
 * ones: a directory younger than `olderThanMs` may belong to a render still running elsewhere.
 */
export async function sweepStaleWorkDirectories(workDirectory: string, olderThanMs: number): Promise<number> {
  let removed = 0;
  const entries = await fs.readdir(workDirectory, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const entryPath = path.join(workDirectory, entry.name);
    const stats = await fs.stat(entryPath).catch(() => undefined);
    if (stats && Date.now() - stats.mtimeMs > olderThanMs) {
      await fs.rm(entryPath, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}
