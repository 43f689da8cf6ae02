/** Where a task's files live in the blob store: `tasks/<taskId>/<file>`. */
export function taskBlobKey(taskId: string, file: string): string {
  return `tasks/${taskId}/${file}`;
}

/** The task whose whole result video this key is, if it is one. */
export function taskOfVideoKey(key: string): string | undefined {
  return /^tasks\/([A-Za-z0-9_-]+)\/video\.mp4$/.exec(key)?.[1];
}

/** A bridge's last frame, kept while an upstream that takes image links fetches it. */
export function bridgeFrameKey(taskId: string): string {
  return taskBlobKey(taskId, 'bridge-frame.png');
}
