import { seededRandom } from './seeded-random.js';

/**
 * Video Textures (Schödl, Szeliski, Salesin, Essa, SIGGRAPH 2000), the planning half: from
 * small grey frames of the source's last seconds, find where the video can jump back to an
 * earlier frame without a visible break, and plan a seeded random walk that plays the source's
 * own motion on after its last frame. Pure computation; the pictures are made elsewhere.
 */

/** A stretch of consecutive source frames, both ends included. */
export interface Run {
  readonly from: number;
  readonly to: number;
}

export interface TexturePlan {
  /** The frames to play after the source's last frame, as runs of consecutive frames. */
  readonly runs: readonly Run[];
  /** How many frames of cross-fade to put at the start of each run after the first. */
  readonly crossFadeFrames: number;
  readonly jumps: number;
  /** The worst jump, as a multiple of the source's own typical frame-to-frame change. */
  readonly worstTransitionCost: number;
}

/** Every pair of the analysed frames compared: `distances[i * count + j]`, symmetric. */
export interface FrameDistances {
  readonly count: number;
  readonly distances: Float32Array;
}

export type TextureOutcome = { readonly plan: TexturePlan } | { readonly fallback: string };

export interface TextureOptions {
  /** How many new frames to plan. */
  readonly frames: number;
  readonly seed: number;
  /** Shortest stretch played between two jumps (frames), so the walk shows motion, not jitter. */
  readonly minimumRun?: number;
  readonly crossFadeFrames?: number;
}

/** Binomial weights over frames i-2..i+1: matching short windows keeps motion, not just poses. */
const windowOffsets = [-2, -1, 0, 1];
const windowWeights = [1, 3, 3, 1];

/** Root-mean-square difference of every pair of frames (symmetric, N×N). */
export function distanceMatrix(frames: readonly Float32Array[]): Float32Array {
  const count = frames.length;
  const distances = new Float32Array(count * count);
  for (let i = 0; i < count; i++) {
    const a = frames[i]!;
    for (let j = i + 1; j < count; j++) {
      const b = frames[j]!;
      let sum = 0;
      for (let p = 0; p < a.length; p++) {
        const d = a[p]! - b[p]!;
        sum += d * d;
      }
      const rms = Math.sqrt(sum / a.length);
      distances[i * count + j] = rms;
      distances[j * count + i] = rms;
    }
  }
  return distances;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * Plans the walk from the frames' distances (the seed only steers the walk, so one analysis
 * serves every extension of a source), or says why it cannot (too short, too static, no seamless jump), so the
 * caller falls back to continuing the camera motion.
 */
export function planVideoTexture(analysis: FrameDistances, options: TextureOptions): TextureOutcome {
  const { count, distances } = analysis;
  const minimumRun = options.minimumRun ?? 12;
  const crossFadeFrames = options.crossFadeFrames ?? 4;
  if (count < minimumRun * 2 + 4) return { fallback: `too short to loop (${count} frames analysed)` };
  const at = (i: number, j: number) => distances[i * count + j]!;
  const motion = median(Array.from({ length: count - 1 }, (_, i) => at(i, i + 1)));
  if (motion < 0.002) return { fallback: 'too static to loop' };

  // cost[i][j]: showing frame j right after frame i, judged on windows around i and j-1.
  const cost = (i: number, j: number): number => {
    let sum = 0;
    let weight = 0;
    windowOffsets.forEach((offset, index) => {
      const a = i + offset;
      const b = j - 1 + offset;
      if (a < 0 || b < 0 || a >= count || b >= count) return;
      sum += windowWeights[index]! * at(a, b);
      weight += windowWeights[index]!;
    });
    return sum / weight / motion;
  };

  // Anticipated future cost (Schödl §3.3, with min in place of the expectation): a jump into a
  // stretch that soon dead-ends at the last frame costs that stretch's own best way out too.
  const candidatesFrom = (i: number) => {
    const list: Array<{ to: number; cost: number }> = [];
    for (let j = 1; j <= i - minimumRun; j++) list.push({ to: j, cost: cost(i, j) });
    return list.sort((a, b) => a.cost - b.cost).slice(0, 8);
  };
  const exits = Array.from({ length: count }, (_, i) => (i >= count - minimumRun * 2 ? candidatesFrom(i) : []));
  const alpha = 0.9;
  const future = new Float64Array(count);
  for (let iteration = 0; iteration < 20; iteration++) {
    for (let i = count - 1; i >= 0; i--) {
      const jumpOut = exits[i]!.reduce((best, exit) => Math.min(best, exit.cost ** 2 + alpha * future[exit.to]!), Infinity);
      future[i] = i === count - 1 ? jumpOut : Math.min(alpha * future[i + 1]!, jumpOut);
    }
  }

  const random = seededRandom(options.seed);
  const pick = (from: number): { to: number; cost: number } | undefined => {
    const scored = exits[from]!.map((exit) => ({ ...exit, score: exit.cost ** 2 + alpha * future[exit.to]! }));
    if (scored.length === 0) return undefined;
    const best = Math.min(...scored.map((exit) => exit.score));
    // A seeded choice among the near-best jumps: different seeds, different (equally good) walks.
    const good = scored.filter((exit) => exit.score <= best * 1.25 + 1e-9);
    return good[Math.floor(random() * good.length)];
  };

  // The walk: jump back from the source's last frame, play on, and jump again from a seeded
  // point of the last stretch (where jumps are planned), until the new seconds are filled.
  const exitZone = count - minimumRun * 2;
  const runs: Run[] = [];
  let worst = 0;
  let planned = 0;
  let from = count - 1;
  while (planned < options.frames) {
    const exit = pick(from);
    if (!exit) return { fallback: 'no jump back is possible' };
    worst = Math.max(worst, exit.cost);
    const earliestNextJump = Math.max(exit.to + minimumRun, exitZone);
    const nextJump = earliestNextJump + Math.floor(random() * (count - earliestNextJump));
    const end = Math.min(nextJump, exit.to + (options.frames - planned) - 1);
    runs.push({ from: exit.to, to: end });
    planned += end - exit.to + 1;
    from = end;
  }
  if (worst > 3) return { fallback: `no seamless jump (best costs ${worst.toFixed(2)}× the usual frame change)` };
  return { plan: { runs, crossFadeFrames, jumps: runs.length, worstTransitionCost: Math.round(worst * 1000) / 1000 } };
}

/** The source frame shown at each new frame, in order (runs flattened). */
export function framesOf(plan: TexturePlan): number[] {
  return plan.runs.flatMap((run) => Array.from({ length: run.to - run.from + 1 }, (_, k) => run.from + k));
}
