import fs from 'node:fs/promises';
import path from 'node:path';
import { EXTENSION_SECONDS, isTerminal, type Task } from '../../domain/task.js';
import { joinBridge, nearestAspectRatio } from '../../media/bridge-join.js';
import { bridgeSourceKey, copySource } from '../runner/extension-source.js';
import { type MediaInfo, type MediaTools } from '../../media/media-tools.js';
import type { ScratchSpace } from '../../media/scratch-space.js';
import type { BlobStore } from '../../ports/blob-store.js';
import { pinningDrift, ProviderError } from '../../ports/video-provider.js';
import { audioEncoderArgs, containerArgs, videoEncoderArgs } from '../../media/output-format.js';
import { watermarkFilter } from '../../media/watermark-filter.js';
import type { ProviderRegistry } from '../routing/provider-registry.js';
import type { TaskLifecycle } from '../lifecycle/task-lifecycle.js';
import type { Storage } from '../../ports/storage.js';
import type { JobContext } from '../../jobs/worker.js';
import { type ResultFiles, storeResult } from '../../blobs/store-result.js';
import { bridgeFrameKey } from '../../blobs/task-blob-keys.js';

export interface IngestDependencies {
  readonly storage: Storage;
  readonly providers: ProviderRegistry;
  readonly lifecycle: TaskLifecycle;
  readonly blobs: BlobStore;
  readonly media: MediaTools;
  readonly scratch: ScratchSpace;
  /** Downloads a user's video (a bridge whose source was a link, if its copy is gone). */
  readonly fetchVideo: (url: string, destination: string, signal: AbortSignal) => Promise<void>;
}

/**
 * `task.ingest`: takes a finished upstream video into custody at once (upstream copies expire:
 * Gemini's after two days), so that every link a client gets points at Segue's own copy. The
 * task succeeds only once the video, its poster and (for an extension) its new seconds are
 * stored. A retry downloads again from scratch; an upstream that no longer has the file, or a
 * file that is not a video, fails the task and releases its credits.
 */
export async function ingestOutput(deps: IngestDependencies, { taskId }: { taskId: string }, context: JobContext): Promise<void> {
  const task = await deps.storage.tasks.findById(taskId);
  if (!task || isTerminal(task.state) || !task.upstreamOutput) return;
  const provider = deps.providers.get(task.provider);
  if (!provider.download) throw new Error(`provider ${provider.name} cannot download outputs`);
  const drift = task.pinning ? pinningDrift(task.pinning, provider.pinning?.(task.parameters.model)) : undefined;
  if (drift) {
    // The result belongs to the account and region that made it: never fetched as another.
    if (task.state === 'running') await deps.lifecycle.reconcile(taskId);
    context.logger.warn({ taskId, provider: provider.name, why: drift }, 'the entry changed under a pinned task; its result is left for an operator');
    return;
  }
  const workDir = await deps.scratch.createFor(context.workerId, `${taskId}-ingest`);
  try {
    const downloaded = path.join(workDir, 'upstream.mp4');
    try {
      await provider.download(task.upstreamOutput, downloaded, { signal: context.signal });
    } catch (error) {
      if (!(error instanceof ProviderError) || error.isRetryable) throw error;
      await deps.lifecycle.fail(taskId, { stage: 'generation', reason: 'generation_failed', message: `the finished video could not be fetched: ${error.message}` });
      return;
    }
    const info = await deps.media.probe(downloaded, { signal: context.signal }).catch(() => undefined);
    if (!info?.video) {
      await deps.lifecycle.fail(taskId, { stage: 'generation', reason: 'generation_failed', message: 'the upstream answered with a file that is not a video' });
      return;
    }
    const bridged = await joinNewSeconds(deps, task, downloaded, info, workDir, context.signal);
    const files = bridged?.files ?? (await prepareFiles(deps, task, downloaded, info, workDir, context.signal));
    const result = await storeResult(deps.blobs, task.id, files);
    // The upstream has made its clip: the frame it fetched is no longer needed.
    if (bridged) await deps.blobs.delete(bridgeFrameKey(task.id));
    const details = {
      engine: 'upstream',
      provider: provider.name,
      ...(task.extension ? { method: task.extension.method, methodReason: task.extension.reason } : {}),
      ...(bridged ? { seamPsnr: bridged.seam.seamPsnr, crossfadeFrames: bridged.seam.crossfadeFrames } : {}),
      ...(bridged && task.extension?.method === 'native' ? { joinedBySegue: true } : {}),
      ...handleDetails(task.providerHandle),
    };
    if (await deps.lifecycle.succeed(task, result, details)) context.logger.info({ taskId, provider: provider.name }, 'task succeeded');
  } finally {
    await fs.rm(workDir, { recursive: true, force: true });
  }
}

/** The watermark (if asked for), the new seconds of an extension, and a poster frame. */
async function prepareFiles(deps: IngestDependencies, task: Task, downloaded: string, info: MediaInfo, workDir: string, signal: AbortSignal): Promise<ResultFiles> {
  let videoPath = downloaded;
  const video = info.video!;
  if (task.parameters.watermark) {
    videoPath = path.join(workDir, 'watermarked.mp4');
    const filter = await watermarkFilter(task.parameters.watermark, workDir, video.height);
    await deps.media.ffmpeg(
      ['-i', 'upstream.mp4', '-vf', filter, ...videoEncoderArgs(video.fps), ...(info.audio ? ['-c:a', 'copy'] : []), ...containerArgs, 'watermarked.mp4'],
      { signal, cwd: workDir },
    );
    info = await deps.media.probe(videoPath, { signal });
  }
  // Veo's extension output is the whole video: the new seconds start where the source ended.
  const parent = task.operation === 'extend' && task.parentTaskId ? await deps.storage.tasks.findById(task.parentTaskId) : undefined;
  let segmentPath: string | null = null;
  const sourceSeconds = parent?.result?.durationSeconds;
  if (sourceSeconds !== undefined && info.durationSeconds > sourceSeconds + 0.5) {
    segmentPath = path.join(workDir, 'segment.mp4');
    await deps.media.ffmpeg(
      ['-ss', sourceSeconds.toFixed(3), '-i', videoPath, ...videoEncoderArgs(video.fps), ...(info.audio ? audioEncoderArgs : []), ...containerArgs, segmentPath],
      { signal },
    );
  }
  const posterPath = path.join(workDir, 'poster.jpg');
  await deps.media.ffmpeg(['-ss', String(Math.min(1, info.durationSeconds / 2)), '-i', videoPath, '-frames:v', '1', '-q:v', '3', posterPath], { signal });
  return { videoPath, segmentPath, posterPath, info };
}

/**
 * Whether an extension's output is the new seconds alone rather than the whole video: its length
 * is nearer the new seconds than source + new seconds.
 */
export function isNewSecondsOnly(outputSeconds: number, sourceSeconds: number): boolean {
  return Math.abs(outputSeconds - EXTENSION_SECONDS) < Math.abs(outputSeconds - (sourceSeconds + EXTENSION_SECONDS));
}

/**
 * An extension whose upstream answered the new seconds alone, joined onto the source so the seam
 * cannot be seen: a bridge (an image-to-video clip from the source's last frame) always; a native
 * extension (a ComfyUI workflow may return only what it made) when its length says so. The
 * result is the source + 7 new seconds, and the new seconds alone; undefined for a whole video.
 */
async function joinNewSeconds(deps: IngestDependencies, task: Task, clipPath: string, clip: MediaInfo, workDir: string, signal: AbortSignal) {
  const method = task.extension?.method;
  if (task.operation !== 'extend' || (method !== 'bridge' && method !== 'native')) return undefined;
  const parent = task.parentTaskId ? ((await deps.storage.tasks.findById(task.parentTaskId)) ?? null) : null;
  if (method === 'native' && parent?.result && !isNewSecondsOnly(clip.durationSeconds, parent.result.durationSeconds)) return undefined;
  const sourceKey = await bridgeSourceKey(deps, task, parent, workDir, signal);
  const sourcePath = await copySource(deps.blobs, sourceKey, workDir);
  const source = await deps.media.probe(sourcePath, { signal });
  if (method === 'native' && !isNewSecondsOnly(clip.durationSeconds, source.durationSeconds)) return undefined;
  const videoPath = path.join(workDir, 'joined.mp4');
  const segmentPath = path.join(workDir, 'segment.mp4');
  const seam = await joinBridge(deps.media, {
    sourcePath,
    source,
    clipPath,
    clip,
    aspectRatio: nearestAspectRatio(source.video!),
    newSeconds: EXTENSION_SECONDS,
    outputPath: videoPath,
    segmentOutputPath: segmentPath,
    workDir,
    signal,
  });
  // The joined length is known (source + the new seconds): the probe and the poster run side by side.
  const posterPath = path.join(workDir, 'poster.jpg');
  const posterAt = Math.min(1, (source.video!.durationSeconds + EXTENSION_SECONDS) / 2);
  const [info] = await Promise.all([
    deps.media.probe(videoPath, { signal }),
    deps.media.ffmpeg(['-ss', String(posterAt), '-i', videoPath, '-frames:v', '1', '-q:v', '3', posterPath], { signal }),
  ]);
  return { files: { videoPath, segmentPath, posterPath, info }, seam };
}

/** The upstream's own names for the work (operation, model), kept with the result for operators. */
function handleDetails(handle: unknown): Record<string, unknown> {
  if (typeof handle !== 'object' || handle === null) return {};
  const { operation, model, costUsd } = handle as { operation?: unknown; model?: unknown; costUsd?: unknown };
  return {
    ...(typeof operation === 'string' ? { upstreamOperation: operation } : {}),
    ...(typeof model === 'string' ? { upstreamModel: model } : {}),
    ...(typeof costUsd === 'number' ? { upstreamCostUsd: costUsd } : {}),
  };
}
