import { loadConfig } from '../config/config.js';
import type { Storage } from '../ports/storage.js';
import { openStorage } from '../storage/open-storage.js';

/** A mistake in how a command was called: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** Runs an operator command against the data directory of the current environment. */
export async function withStorage<T>(work: (storage: Storage) => Promise<T>): Promise<T> {
  const storage = await openStorage(loadConfig());
  try {
    return await work(storage);
  } finally {
    await storage.close();
  }
}

export function print(value: unknown, asJson: boolean, text: () => string): void {
  process.stdout.write(`${asJson ? JSON.stringify(value) : text()}\n`);
}
