/**
 * Items due at given times, kept in slots of `resolutionMs` (a hashed timer wheel): adding,
 * removing and taking what is due cost O(1) per item plus O(log slots) per slot, with no timer
 * per item. An item comes out at most one slot late (`resolutionMs`), never early.
 */
export class TimerWheel<T> {
  private readonly slots = new Map<number, Map<string, T>>();
  /** Slot numbers in a binary min-heap: the earliest slot that holds items is on top. */
  private readonly heap: number[] = [];
  private readonly slotOf = new Map<string, number>();

  constructor(private readonly resolutionMs = 100) {}

  get size(): number {
    return this.slotOf.size;
  }

  has(id: string): boolean {
    return this.slotOf.has(id);
  }

  /** Puts `item` under `id`, due at `dueAt` (replacing what was under that id). */
  add(id: string, item: T, dueAt: number): void {
    this.delete(id);
    const slot = Math.ceil(dueAt / this.resolutionMs);
    let items = this.slots.get(slot);
    if (!items) {
      items = new Map();
      this.slots.set(slot, items);
      this.push(slot);
    }
    items.set(id, item);
    this.slotOf.set(id, slot);
  }

  delete(id: string): T | undefined {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return undefined;
    this.slotOf.delete(id);
    const items = this.slots.get(slot)!;
    const item = items.get(id);
    items.delete(id);
    // An emptied slot stays on the heap and is dropped when it reaches the top.
    return item;
  }

  /** Removes and answers every item due by `now`, earliest slot first. */
  takeDue(now: number, limit = Infinity): T[] {
    const due: T[] = [];
    while (this.heap.length > 0 && due.length < limit) {
      const slot = this.heap[0]!;
      if (slot * this.resolutionMs > now) break;
      const items = this.slots.get(slot)!;
      for (const [id, item] of items) {
        if (due.length >= limit) break;
        items.delete(id);
        this.slotOf.delete(id);
        due.push(item);
      }
      if (items.size === 0) {
        this.slots.delete(slot);
        this.pop();
      }
    }
    return due;
  }

  /** When the earliest item falls due, or undefined when the wheel is empty. */
  nextDueAt(): number | undefined {
    while (this.heap.length > 0) {
      const slot = this.heap[0]!;
      if (this.slots.get(slot)!.size > 0) return slot * this.resolutionMs;
      this.slots.delete(slot);
      this.pop();
    }
    return undefined;
  }

  /** Every item with its id (for releasing them all). */
  *entries(): IterableIterator<[string, T, number]> {
    for (const [id, slot] of this.slotOf) yield [id, this.slots.get(slot)!.get(id)!, slot * this.resolutionMs];
  }

  private push(slot: number): void {
    const heap = this.heap;
    heap.push(slot);
    for (let index = heap.length - 1; index > 0; ) {
      const parent = (index - 1) >> 1;
      if (heap[parent]! <= heap[index]!) break;
      [heap[parent], heap[index]] = [heap[index]!, heap[parent]!];
      index = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    for (let index = 0; ; ) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && heap[left]! < heap[smallest]!) smallest = left;
      if (right < heap.length && heap[right]! < heap[smallest]!) smallest = right;
      if (smallest === index) break;
      [heap[smallest], heap[index]] = [heap[index]!, heap[smallest]!];
      index = smallest;
    }
  }
}
