import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BlobStore } from '../ports/blob-store.js';

const safeKey = /^[a-z0-9][a-z0-9_\-]*(\/[a-z0-9][a-z0-9_\-.]*)*$/i;

/** Checks that a blob key is a plain relative path (no `..`, no absolute path, no odd characters). */
export function isSafeBlobKey(key: string): boolean {
  return safeKey.test(key) && !key.split('/').some((part) => part === '..' || part === '.') && key.length <= 300;
}

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
      const staging = `${target}.${randomBytes(4).toString('hex')}.part`;
      await fs.copyFile(sourcePath, staging);
      await fs.rename(staging, target);
      await fs.rm(sourcePath, { force: true });
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    const target = this.pathOf(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const staging = `${target}.${randomBytes(4).toString('hex')}.part`;
    await fs.writeFile(staging, JSON.stringify(value));
    await fs.rename(staging, target);
  }

  async readJson(key: string): Promise<unknown | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.pathOf(key), 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await fs.access(this.pathOf(key));
      return true;
    } catch {
      return false;
    }
  }

  async localPath(key: string): Promise<string> {
    return this.pathOf(key);
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true });
  }

  private pathOf(key: string): string {
    if (!isSafeBlobKey(key)) throw new Error(`unsafe blob key: ${key}`);
    return path.join(this.directory, key);
  }
}
