/**
 * Calls made one at a time by jobs running side by side, run together: every item asked for while
 * the previous group is under way (or within the same turn of the event loop) goes into one call
 * of `run`, which answers one result per item, in order. At most `inFlight` groups run at once,
 * each of at most `maxGroup` items. A failure of `run` fails every item of its group.
 *
 * A burst's callback deliveries thus share one read and one transaction for their attempts, and
 * the polls that fall due together one read of their tasks, instead of statements each; a call
 * alone still goes out at once.
 */
export class GroupedCalls<Item, Result> {
  private waiting: Array<{ item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void }> = [];
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: readonly Item[]) => Promise<readonly Result[]>,
    private readonly options: { readonly maxGroup: number; readonly inFlight: number },
  ) {}

  call(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.options.inFlight || this.waiting.length === 0) return;
    this.scheduled = true;
    // The rest of this turn's items join the group.
    setImmediate(() => {
      this.scheduled = false;
      this.startGroup();
    });
  }

  private startGroup(): void {
    if (this.running >= this.options.inFlight || this.waiting.length === 0) return;
    const group = this.waiting.splice(0, this.options.maxGroup);
    this.running++;
    void this.run(group.map((entry) => entry.item))
      .then(
        (results) => group.forEach((entry, index) => entry.resolve(results[index]!)),
        (error: unknown) => group.forEach((entry) => entry.reject(error)),
      )
      .finally(() => {
        this.running--;
        this.schedule();
      });
  }
}
