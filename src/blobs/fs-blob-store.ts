import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BlobInfo, BlobStore, ByteRange, OpenedBlob } from '../ports/blob-store.js';
import { contentTypeOf, isSafeBlobKey } from './blob-keys.js';

/** Blobs as files under one directory. Writes go to a temporary name first, then a rename. */
export class FsBlobStore implements BlobStore {
  constructor(readonly directory: string) {}

  async putFile(key: string, sourcePath: string): Promise<void> {
    const target = this.pathOf(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    try {
      await fs.rename(sourcePath, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      const staging = stagingPath(target);
      await fs.copyFile(sourcePath, staging);
      await fs.rename(staging, target);
      await fs.rm(sourcePath, { force: true });
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    const target = this.pathOf(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const staging = stagingPath(target);
    await fs.writeFile(staging, JSON.stringify(value));
    await fs.rename(staging, target);
  }

  async readJson(key: string): Promise<unknown | undefined> {
    const text = await absentIfMissing(fs.readFile(this.pathOf(key), 'utf8'));
    return text === undefined ? undefined : JSON.parse(text);
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async listOlder(prefix: string, before: Date, limit: number): Promise<string[]> {
    const root = this.pathOf(prefix.replace(/\/+$/, ''));
    const entries = await absentIfMissing(fs.readdir(root, { recursive: true, withFileTypes: true }));
    const keys: string[] = [];
    for (const entry of entries ?? []) {
      if (keys.length >= limit) break;
      if (!entry.isFile()) continue;
      const file = path.join(entry.parentPath, entry.name);
      const stats = await absentIfMissing(fs.stat(file));
      if (stats && stats.mtime < before) keys.push(path.relative(this.directory, file).split(path.sep).join('/'));
    }
    return keys;
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    const stats = await absentIfMissing(fs.stat(this.pathOf(key)));
    return stats?.isFile() ? infoOf(key, stats) : undefined;
  }

  /** A hard link where the scratch space shares the store's file system (blobs are never written in place), else a copy. */
  async copyToFile(key: string, destination: string): Promise<boolean> {
    const source = this.pathOf(key);
    try {
      await fs.link(source, destination);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !(await this.exists(key))) return false;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw error;
    }
    return (await absentIfMissing(fs.copyFile(source, destination, fs.constants.COPYFILE_EXCL).then(() => true))) ?? false;
  }

  async openRead(key: string, range?: ByteRange): Promise<OpenedBlob | undefined> {
    const handle = await absentIfMissing(fs.open(this.pathOf(key), 'r'));
    if (!handle) return undefined;
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) {
        await handle.close();
        return undefined;
      }
      return { ...infoOf(key, stats), body: handle.createReadStream(range ? { start: range.start, end: range.end } : {}) };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true });
  }

  private pathOf(key: string): string {
    if (!isSafeBlobKey(key)) throw new Error(`unsafe blob key: ${key}`);
    return path.join(this.directory, key);
  }
}

function stagingPath(target: string): string {
  return `${target}.${randomBytes(4).toString('hex')}.part`;
}

function infoOf(key: string, stats: Stats): BlobInfo {
  // A blob is only ever replaced whole, by renaming a new file over it: a new inode names new bytes.
  const etag = `"${stats.ino.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}-${stats.size.toString(16)}"`;
  return { size: stats.size, contentType: contentTypeOf(key), etag, lastModified: stats.mtime };
}

async function absentIfMissing<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
