/**
 * A small seeded PRNG (mulberry32) for tests that draw random choices but must replay exactly
 * from a printed seed. `fork(label)` gives an independent stream, so drawing more in one part of a
 * test never shifts the draws of another.
 */
export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** An independent stream named `label`, derived from this generator's seed (not its position). */
  fork(label: string): SeededRandom {
    let hash = 2166136261;
    for (const character of label) hash = Math.imul(hash ^ character.charCodeAt(0), 16777619);
    return new SeededRandom((this.seed ^ hash) >>> 0);
  }
}

/** A fresh 32-bit seed, for runs that do not name one. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296) >>> 0;
}
