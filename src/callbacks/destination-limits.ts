import { setImmediate as nextTurn } from 'node:timers/promises';

/** A destination whose answers take longer than this is slow: its extra deliveries wait in the queue, not in a worker's place. */
const SLOW_MS = 1_000;
/** The longest a delivery to a busy destination is put off at a time. */
const MAX_PUT_OFF_MS = 2_000;

interface Destination {
  /** When each delivery in flight started (performance.now()). */
  readonly inFlight: Set<number>;
  /** How long its recent answers took (a moving average), to tell how soon a place frees. */
  averageMs: number;
  /** Deliveries waiting here for a place, first come first served. */
  readonly waiting: Array<(place: DestinationPlace) => void>;
}

/** A place taken (give it back with `leave` once the exchange is over), or how long to put the delivery off. */
export type DestinationPlace = { readonly leave: () => void } | { readonly putOffMs: number };

/**
 * Callback deliveries in flight per destination (scheme, host and port) in this process, each
 * destination up to `perDestination` at once: one slow receiver holds at most that many of the
 * worker's places, and every other destination's deliveries go on beside it. A delivery to a
 * full destination that answers quickly waits here for a place (a burst to one receiver flows
 * through at its own pace); one to a slow destination is put off in the queue instead.
 */
export class DestinationLimits {
  private readonly destinations = new Map<string, Destination>();

  constructor(readonly perDestination: number) {}

  async enter(url: string): Promise<DestinationPlace> {
    const origin = originOf(url);
    let destination = this.destinations.get(origin);
    if (!destination) {
      destination = { inFlight: new Set(), averageMs: 0, waiting: [] };
      this.destinations.set(origin, destination);
    }
    if (destination.inFlight.size < this.perDestination && destination.waiting.length === 0) return this.take(origin, destination);
    if (this.slowness(destination) < SLOW_MS) {
      const place = await new Promise<DestinationPlace | undefined>((resolve) => {
        const handOver = (given: DestinationPlace) => {
          clearTimeout(timer);
          resolve(given);
        };
        const timer = setTimeout(() => {
          destination.waiting.splice(destination.waiting.indexOf(handOver), 1);
          resolve(undefined);
        }, SLOW_MS);
        destination.waiting.push(handOver);
      });
      if (place) return place;
    } else {
      // Never answer from the same turn: a worker putting off job after job must let I/O run.
      await nextTurn();
    }
    const putOffMs = Math.min(MAX_PUT_OFF_MS, Math.max(SLOW_MS, this.slowness(destination)));
    return { putOffMs: Math.round(putOffMs * (0.9 + 0.2 * Math.random())) };
  }

  /** How long this destination's deliveries are taking: the average of its answers, or longer if one in flight already has. */
  private slowness(destination: Destination): number {
    const now = performance.now();
    let oldest = now;
    for (const started of destination.inFlight) oldest = Math.min(oldest, started);
    return Math.max(destination.averageMs, now - oldest);
  }

  private take(origin: string, destination: Destination): DestinationPlace {
    let started = performance.now();
    // Two deliveries may start in the same millisecond: each keeps its own entry.
    while (destination.inFlight.has(started)) started += 1e-6;
    destination.inFlight.add(started);
    let left = false;
    return {
      leave: () => {
        if (left) return;
        left = true;
        destination.inFlight.delete(started);
        const tookMs = performance.now() - started;
        destination.averageMs = destination.averageMs === 0 ? tookMs : 0.8 * destination.averageMs + 0.2 * tookMs;
        // The place goes straight to the first delivery waiting for one.
        const next = destination.waiting.shift();
        if (next) return next(this.take(origin, destination));
        if (destination.inFlight.size === 0 && this.destinations.size > 1_000) this.destinations.delete(origin);
      },
    };
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
