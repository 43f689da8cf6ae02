import fs from 'node:fs/promises';
import path from 'node:path';
import { bridgeFrameKey, taskBlobKey } from '../../blobs/task-blob-keys.js';
import { MediaError } from '../../domain/errors.js';
import { checkExtendableSource, sourceFacts } from '../../domain/source-video-rules.js';
import type { Task } from '../../domain/task.js';
import { lastFrame, nearestAspectRatio } from '../../media/bridge-join.js';
import type { MediaTools } from '../../media/media-tools.js';
import type { ScratchSpace } from '../../media/scratch-space.js';
import type { BlobStore } from '../../ports/blob-store.js';
import type { TaskStore } from '../../ports/task-store.js';
import type { ExtensionSource } from '../../ports/video-provider.js';
import type { TaskPlacement } from '../routing/task-placement.js';

/** What resolving an extension's source needs. */
export interface SourceTools {
  readonly tasks: Pick<TaskStore, 'findById' | 'saveExtensionPlan'>;
  readonly placement: TaskPlacement;
  readonly blobs: BlobStore;
  readonly media: MediaTools;
  readonly scratch: ScratchSpace;
  /** Downloads a user's video (SSRF-guarded, capped); throws MediaError. */
  readonly fetchVideo: (url: string, destination: string, signal: AbortSignal) => Promise<void>;
  /** An expiring link to one of Segue's stored files (see ResultLinks), for upstreams that fetch a source. */
  readonly linkTo: (blobKey: string) => Promise<string>;
}

/**
 * The video an extension continues, resolved for its provider before `start`: the source task,
 * a link to Segue's copy and, for a bridge, the last frame at the model's nearest aspect ratio.
 * The method is decided for the entry the task is on now (a fallback may have moved it), and
 * recorded on the task when it changed.
 */
export async function resolveExtensionSource(tools: SourceTools, task: Task, workerId: string, signal: AbortSignal): Promise<ExtensionSource> {
  const parent = task.parentTaskId ? ((await tools.tasks.findById(task.parentTaskId)) ?? null) : null;
  const found = tools.placement.extensionOn(task.provider, parent, task.parameters.model);
  // After a fallback the entry (and so perhaps the method) changed: the task says what runs now.
  const plan = found && task.extension && found.method !== task.extension.method ? { ...found, lesser: true } : found;
  if (plan && task.extension && plan.method !== task.extension.method) await tools.tasks.saveExtensionPlan(task.id, plan);
  const storedKey = parent?.result?.videoKey ?? task.parameters.sourceVideoKey;
  const source: ExtensionSource = { task: parent, link: storedKey ? await tools.linkTo(storedKey) : null };
  if (plan?.method !== 'bridge') return source;
  const workDir = await tools.scratch.createFor(workerId, `${task.id}-bridge`);
  try {
    const key = await bridgeSourceKey(tools, task, parent, workDir, signal);
    const sourcePath = await copySource(tools.blobs, key, workDir);
    const info = await tools.media.probe(sourcePath, { signal }).catch(() => undefined);
    if (!info?.video) throw new MediaError('the source video is not readable');
    const aspectRatio = nearestAspectRatio(info.video);
    const frame = await lastFrame(tools.media, sourcePath, aspectRatio, workDir, signal, info.video);
    // Kept with the task's files: upstreams that take images by URL fetch it from Segue.
    const frameKey = bridgeFrameKey(task.id);
    await tools.blobs.putFile(frameKey, path.join(workDir, 'last-frame.png'));
    const bridge = { frame: { bytes: frame, mimeType: 'image/png' }, aspectRatio, frameLink: await tools.linkTo(frameKey) };
    return { ...source, link: await tools.linkTo(key), bridge };
  } finally {
    await fs.rm(workDir, { recursive: true, force: true });
  }
}

/** An upgrade's source: the task it upgrades and a link to Segue's copy of its video. */
export async function resolveUpgradeSource(tools: Pick<SourceTools, 'tasks' | 'linkTo'>, task: Task): Promise<ExtensionSource> {
  const parent = task.parentTaskId ? ((await tools.tasks.findById(task.parentTaskId)) ?? null) : null;
  return { task: parent, link: parent?.result ? await tools.linkTo(parent.result.videoKey) : null };
}

/** A local copy of a stored video in a work directory (a hard link where the store allows). */
export async function copySource(blobs: BlobStore, key: string, workDir: string): Promise<string> {
  const file = path.join(workDir, 'stored-source.mp4');
  if (!(await blobs.copyToFile(key, file))) throw new MediaError('the source video is no longer available');
  return file;
}

/**
 * The blob key of Segue's copy of the video a bridge continues: the source task's result, an
 * uploaded video, or a link fetched once (and checked) into the task's own blobs, where custody
 * finds it again to join the new seconds on.
 */
export async function bridgeSourceKey(
  tools: Pick<SourceTools, 'blobs' | 'media' | 'fetchVideo'>,
  task: Task,
  parent: Task | null,
  workDir: string,
  signal: AbortSignal,
): Promise<string> {
  if (parent?.result) return parent.result.videoKey;
  if (task.parameters.sourceVideoKey) return task.parameters.sourceVideoKey;
  const url = task.parameters.sourceVideoUrl;
  if (!url) throw new MediaError('the extension has no source video');
  const key = taskBlobKey(task.id, 'source.mp4');
  if (await tools.blobs.exists(key)) return key;
  const file = path.join(workDir, 'source.mp4');
  await tools.fetchVideo(url, file, signal);
  const info = await tools.media.probe(file, { signal }).catch(() => undefined);
  if (!info) throw new MediaError('the file is not a readable video');
  checkExtendableSource(sourceFacts(info.video));
  await tools.blobs.putFile(key, file);
  return key;
}
