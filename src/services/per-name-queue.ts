/**
 * Runs work in the order asked, at most `runningPerName` at a time per name in this process;
 * work under different names runs side by side.
 */
export class PerNameQueue {
  private readonly queues = new Map<string, { running: number; waiting: Array<() => void> }>();

  constructor(private readonly runningPerName: number) {
    if (!(runningPerName >= 1)) throw new Error('runningPerName must be at least 1');
  }

  async run<T>(name: string, work: () => Promise<T>): Promise<T> {
    let queue = this.queues.get(name);
    if (!queue) this.queues.set(name, (queue = { running: 0, waiting: [] }));
    if (queue.running >= this.runningPerName) await new Promise<void>((resolve) => queue.waiting.push(resolve));
    else queue.running++;
    try {
      return await work();
    } finally {
      // The place passes straight to the next in line, so the count stays as it is.
      const next = queue.waiting.shift();
      if (next) next();
      else if (--queue.running === 0) this.queues.delete(name);
    }
  }
}
