/**
 * When to ask an upstream again: `firstPollSeconds` after the start, then every `pollSeconds` ± a
 * third, jittered so that many tasks started together do not poll together.
 */
export function jitteredPollDelayMs(entry: { readonly firstPollSeconds: number; readonly pollSeconds: number }, elapsedMs: number, random: () => number): number {
  if (elapsedMs <= 0) return entry.firstPollSeconds * 1000;
  return Math.round(entry.pollSeconds * 1000 * (2 / 3 + (random() * 2) / 3));
}
