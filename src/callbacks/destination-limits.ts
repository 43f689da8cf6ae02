/** The shortest and longest wait of a delivery whose destination is busy. */
const MIN_BUSY_WAIT_MS = 20;
const MAX_BUSY_WAIT_MS = 2_000;

interface Destination {
  inFlight: number;
  /** How long its recent answers took (a moving average), to tell how soon a place frees. */
  averageMs: number;
}

/**
 * Callback deliveries in flight per destination (scheme, host and port) in this process, each
 * destination up to `perDestination` at once: one slow receiver holds at most that many of the
 * worker's places, and every other destination's deliveries go on beside it.
 */
export class DestinationLimits {
  private readonly destinations = new Map<string, Destination>();

  constructor(readonly perDestination: number) {}

  /**
   * Takes a place for a delivery to `url`: a function that gives it back (call it once the
   * exchange is over), or, when the destination is full, how long to wait before asking again
   * (about as long as its answers have been taking).
   */
  enter(url: string): { readonly leave: () => void } | { readonly busyForMs: number } {
    const origin = originOf(url);
    let destination = this.destinations.get(origin);
    if (!destination) {
      destination = { inFlight: 0, averageMs: 0 };
      this.destinations.set(origin, destination);
    }
    if (destination.inFlight >= this.perDestination) {
      return { busyForMs: Math.round(Math.min(MAX_BUSY_WAIT_MS, Math.max(MIN_BUSY_WAIT_MS, destination.averageMs))) };
    }
    destination.inFlight++;
    const started = performance.now();
    let left = false;
    const entered = destination;
    return {
      leave: () => {
        if (left) return;
        left = true;
        entered.averageMs = entered.averageMs === 0 ? performance.now() - started : 0.8 * entered.averageMs + 0.2 * (performance.now() - started);
        if (--entered.inFlight === 0 && this.destinations.size > 1_000) this.destinations.delete(origin);
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
