import { bridgeFrameKey, taskBlobKey } from '../blobs/task-blob-keys.js';
import { InvalidStateError, NotFoundError } from '../domain/errors.js';
import { isTerminal } from '../domain/task.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { ApiKeyRecord } from '../ports/key-store.js';
import type { Storage } from '../ports/storage.js';

/**
 * A key deleting one of its own videos: from then on every read of it, in every dialect, is
 * NotFound, and its media are removed. The row stays (the ledger and operators refer to it).
 * Only a finished task no unfinished task continues can go: a running one would still be paid
 * for and stored, and an extension or upgrade in flight still reads its video.
 */
export class TaskDeletion {
  constructor(
    private readonly storage: Storage,
    private readonly blobs: BlobStore,
    private readonly now: () => number = Date.now,
  ) {}

  async delete(key: ApiKeyRecord, taskId: string): Promise<void> {
    const task = await this.storage.tasks.findOwned(taskId, key.id);
    if (!task) throw new NotFoundError('no such task');
    if (!isTerminal(task.state)) throw new InvalidStateError('The video is still being made; it can be deleted once it has completed or failed.');
    if (await this.storage.tasks.hasUnfinishedChildren(task.id)) {
      throw new InvalidStateError('An extension or upgrade of this video is still being made; it can be deleted once that has finished.');
    }
    const deleted = await this.storage.tasks.markDeleted(task.id, key.id, this.now());
    // What this process keeps of the finished task goes at once (other processes hear it from the database).
    this.storage.readChanges.changedHere();
    if (!deleted) throw new NotFoundError('no such task');
    // The result, and the source an extension of a video from outside was made from.
    const keys = [task.result?.videoKey, task.result?.segmentKey, task.result?.posterKey, task.parameters.sourceVideoKey, taskBlobKey(task.id, 'source.mp4'), bridgeFrameKey(task.id)];
    await Promise.all(keys.filter((blobKey): blobKey is string => Boolean(blobKey)).map((blobKey) => this.blobs.delete(blobKey)));
  }
}
