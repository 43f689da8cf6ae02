import { loadConfig } from '../config/config.js';
import { openSqliteDatabase } from '../storage/database.js';
import { createSqlStorage, type Storage } from '../storage/storage.js';

/** A mistake in how a command was called: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** Runs an operator command against the data directory of the current environment. */
export async function withStorage<T>(work: (storage: Storage) => Promise<T>): Promise<T> {
  const database = await openSqliteDatabase(loadConfig().dataDir);
  try {
    return await work(createSqlStorage(database.db));
  } finally {
    await database.close();
  }
}

export function print(value: unknown, asJson: boolean, text: () => string): void {
  process.stdout.write(`${asJson ? JSON.stringify(value) : text()}\n`);
}
