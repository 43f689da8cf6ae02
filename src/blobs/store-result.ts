import type { TaskResult } from '../domain/task.js';
import type { MediaInfo } from '../media/media-tools.js';
import type { BlobStore } from '../ports/blob-store.js';
import { taskBlobKey } from './task-blob-keys.js';

/** A finished video's files in a work directory, probed. */
export interface ResultFiles {
  readonly videoPath: string;
  /** For an extension: the new seconds alone. */
  readonly segmentPath: string | null;
  readonly posterPath: string;
  readonly info: MediaInfo;
}

/** Moves a result's files into the blob store under the task's keys and describes them. */
export async function storeResult(blobs: BlobStore, taskId: string, files: ResultFiles): Promise<TaskResult> {
  const videoKey = taskBlobKey(taskId, 'video.mp4');
  const posterKey = taskBlobKey(taskId, 'poster.jpg');
  const segmentKey = files.segmentPath ? taskBlobKey(taskId, 'segment.mp4') : null;
  await blobs.putFile(videoKey, files.videoPath);
  await blobs.putFile(posterKey, files.posterPath);
  if (segmentKey && files.segmentPath) await blobs.putFile(segmentKey, files.segmentPath);
  const video = files.info.video!;
  return {
    videoKey,
    segmentKey,
    posterKey,
    durationSeconds: Math.round(files.info.durationSeconds * 1000) / 1000,
    width: video.width,
    height: video.height,
    fps: Math.round(video.fps * 1000) / 1000,
    hasAudio: files.info.audio !== null,
  };
}
