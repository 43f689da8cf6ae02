/** Where media lives. Keys are relative paths such as `tasks/<id>/video.mp4`. */
export interface BlobStore {
  /** Moves a finished local file into the store under `key`, atomically. */
  putFile(key: string, sourcePath: string): Promise<void>;
  putJson(key: string, value: unknown): Promise<void>;
  readJson(key: string): Promise<unknown | undefined>;
  exists(key: string): Promise<boolean>;
  /** A local path from which ffmpeg can read the blob. */
  localPath(key: string): Promise<string>;
  /** Removes a blob (and nothing else); a missing one is not an error. */
  delete(key: string): Promise<void>;
}
