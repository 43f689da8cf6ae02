/**
 * Runs work one at a time per name in this process, in the order asked; work under different
 * names runs side by side. Creates of one API key queue here rather than in the database: on
 * PostgreSQL, concurrent SERIALIZABLE transactions on one key's balance row would abort all but
 * one and retry after growing pauses.
 */
export class OneAtATime {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.tails.set(name, tail);
    void tail.then(() => {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    });
    return result;
  }
}
