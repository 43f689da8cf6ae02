import type { SeededRandom } from './seeded-random.js';

/** What a chaos run creates: Veo-dialect generations and extensions, universal-dialect ones. */
export type ChaosTaskKind = 'veo-generate' | 'veo-extend' | 'universal-generate' | 'universal-extend';

export interface PlannedTask {
  readonly index: number;
  readonly kind: ChaosTaskKind;
  /** Pause before it is submitted. */
  readonly gapMs: number;
  /** For extensions: the plan index of the (earlier) Veo generation it continues. */
  readonly sourceIndex: number | undefined;
  readonly seed: number;
}

/**
 * When a kill lands: after a `timer`; some way into a running `render`; while the receiver holds
 * a `callback` (it takes it in after its sender died); just after a create was sent (`submit`);
 * or while the server is still starting (`startup`, right after the previous restart).
 */
export type KillMoment = 'timer' | 'render' | 'callback' | 'submit' | 'startup';

export interface PlannedKill {
  readonly moment: KillMoment;
  /** Up at least this long before the moment is looked for (not for `startup`). */
  readonly minUpMs: number;
  /** timer: the delay; render: how far into the render; submit: how long after the send; startup: after the start. */
  readonly delayMs: number;
  /** Down this long before the restart. */
  readonly downMs: number;
}

/** `count` tasks; the first is always a Veo generation, so every extension has a source. */
export function planTasks(random: SeededRandom, count: number): PlannedTask[] {
  const tasks: PlannedTask[] = [];
  for (let index = 0; index < count; index++) {
    const generations = tasks.filter((task) => task.kind === 'veo-generate').map((task) => task.index);
    const draw = random.next();
    const kind: ChaosTaskKind =
      index === 0 ? 'veo-generate' : draw < 0.45 ? 'veo-generate' : draw < 0.7 ? 'veo-extend' : draw < 0.87 ? 'universal-generate' : 'universal-extend';
    const extension = kind === 'veo-extend' || kind === 'universal-extend';
    tasks.push({
      index,
      kind,
      gapMs: random.int(0, 2_500),
      sourceIndex: extension ? random.pick(generations) : undefined,
      // The Veo dialect takes seeds 10000–99999.
      seed: kind.startsWith('veo') ? random.int(10_000, 99_999) : random.int(0, 2 ** 31),
    });
  }
  return tasks;
}

/** `count` kills; the first is never a `startup` one (there is no restart before it). */
export function planKills(random: SeededRandom, count: number): PlannedKill[] {
  return Array.from({ length: count }, (_, index) => {
    const draw = random.next();
    const moment: KillMoment =
      draw < 0.25 ? 'timer' : draw < 0.55 ? 'render' : draw < 0.75 ? 'callback' : draw < 0.9 || index === 0 ? 'submit' : 'startup';
    const delayMs =
      moment === 'timer' ? random.int(500, 6_000)
      : moment === 'render' ? random.int(0, 3_500)
      : moment === 'submit' ? random.int(0, 20)
      : random.int(20, 400);
    return { moment, minUpMs: random.int(500, 3_000), delayMs, downMs: random.int(0, 1_000) };
  });
}

/**
 * What every server process of a chaos run shares: short leases, fast polls and a fast callback
 * schedule (8 attempts within about 15 s), no rate limits, private addresses allowed.
 */
export function chaosServerEnvironment(keys: { readonly bootstrapKey: string; readonly adminKey: string }): Record<string, string> {
  return {
    SEGUE_BOOTSTRAP_KEY: keys.bootstrapKey,
    SEGUE_BOOTSTRAP_CREDITS: '1000000',
    SEGUE_ADMIN_KEY: keys.adminKey,
    SEGUE_ALLOW_PRIVATE_NETWORKS: 'true',
    SEGUE_JOB_LEASE_SECONDS: '2',
    SEGUE_WORKER_POLL_MS: '100',
    SEGUE_SHUTDOWN_GRACE_SECONDS: '2',
    SEGUE_CALLBACK_RETRY_SCHEDULE: '0,300ms,1s,1s,2s,2s,3s,3s',
    SEGUE_CALLBACK_TIMEOUT_SECONDS: '5',
    SEGUE_RATE_LIMIT: 'off',
    SEGUE_READ_RATE_LIMIT: 'off',
  };
}
