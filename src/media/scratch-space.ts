import fs from 'node:fs/promises';
import path from 'node:path';

/** Marks the owner part of a work directory's name: `<owner>~<label>-XXXXXX`. */
const ownerSeparator = '~';
/** The one entry sweeps leave alone: files kept across jobs (each user bounds its own). */
const keptEntry = 'kept';
/** The owner of files that belong to a request, not to a job (imports being checked, images being fetched). */
const requestOwner = 'request';

/**
 * The machine's scratch space for media work (renders, downloads, probes). Each job's directory
 * is named after the worker that owns it, so a sweep can remove what dead workers left behind
 * without touching the work of live ones; free space is checked before work starts, so a full
 * disk makes work wait instead of failing it.
 */
export class ScratchSpace {
  constructor(
    readonly directory: string,
    private readonly minFreeBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new private directory for one run of a job by `owner` (a worker id). */
  async createFor(owner: string, label: string): Promise<string> {
    await fs.mkdir(this.directory, { recursive: true });
    return fs.mkdtemp(path.join(this.directory, `${safeName(owner)}${ownerSeparator}${safeName(label)}-`));
  }

  /**
   * A directory for files kept across jobs (e.g. analyses of sources that later extensions
   * reuse): never swept; whoever keeps files there bounds them.
   */
  keptDirectory(name: string): string {
    return path.join(this.directory, keptEntry, safeName(name));
  }

  /** A path for a short-lived file of a request (removed by its request, or swept when old). */
  async pathForRequest(label: string): Promise<string> {
    await fs.mkdir(this.directory, { recursive: true });
    const unique = `${this.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
    return path.join(this.directory, `${requestOwner}${ownerSeparator}${safeName(label)}-${unique}`);
  }

  async freeBytes(): Promise<number> {
    await fs.mkdir(this.directory, { recursive: true });
    const stats = await fs.statfs(this.directory);
    return stats.bavail * stats.bsize;
  }

  private lastRoomCheck: { at: number; room: boolean } | undefined;

  /** Whether there is room for new media work (the configured minimum of free space); checked at most once a second. */
  async hasRoom(): Promise<boolean> {
    const now = this.now();
    if (this.lastRoomCheck && now - this.lastRoomCheck.at < 1000) return this.lastRoomCheck.room;
    const room = (await this.freeBytes()) >= this.minFreeBytes;
    this.lastRoomCheck = { at: now, room };
    return room;
  }

  /**
   * Removes every entry whose owner is not among `liveOwners` (workers holding a lease now), and
   * request files older than `requestFilesOlderThanMs`. List first, then ask who is alive: a
   * directory listed was made after its owner's claim, so a live owner is always in the set.
   */
  async sweep(liveOwners: () => Promise<ReadonlySet<string>>, requestFilesOlderThanMs: number): Promise<number> {
    const entries = await fs.readdir(this.directory).catch(() => [] as string[]);
    if (entries.length === 0) return 0;
    const alive = await liveOwners();
    let removed = 0;
    for (const name of entries) {
      if (name === keptEntry) continue;
      const owner = name.includes(ownerSeparator) ? name.slice(0, name.indexOf(ownerSeparator)) : requestOwner;
      const entryPath = path.join(this.directory, name);
      if (owner === requestOwner) {
        const stats = await fs.stat(entryPath).catch(() => undefined);
        if (!stats || this.now() - stats.mtimeMs <= requestFilesOlderThanMs) continue;
      } else if (alive.has(owner)) {
        continue;
      }
      await fs.rm(entryPath, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 80);
}
