/** A small deterministic generator (mulberry32): the same seed always gives the same numbers. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A number in [low, high) drawn from `random`, rounded to 4 decimals so filter strings stay short. */
export function between(random: () => number, low: number, high: number): number {
  return Math.round((low + (high - low) * random()) * 10000) / 10000;
}
