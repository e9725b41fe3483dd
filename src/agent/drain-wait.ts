// How long a drained instance keeps its place in the `established` ring: until drain_time has passed,
// or sooner once the connection counter (if any) sees no client connection left, polled every
// DRAIN_POLL_MS. One wait per drain; cancelled by an undrain, a failure or a stop.

import type { Clock, TimerHandle } from '../clock.js';
import type { ServiceConfig } from '../config/types.js';

/** While draining, how often the remaining client connections are counted. */
export const DRAIN_POLL_MS = 250;

export type DrainEnd = 'drain-time-over' | 'no-connections-left';

/**
 * Client connections the local instance of `service` still serves (a drain ends early at zero), or
 * null when that cannot be told (UDP flows).
 */
export type ConnectionCounter = (service: ServiceConfig) => number | null;

export class DrainWait {
  readonly #clock: Clock;
  #timer: TimerHandle = null;
  #poll: TimerHandle = null;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get active(): boolean {
    return this.#timer !== null;
  }

  /**
   * Starts the wait; `done` is called once with why it ended. A counter that throws is reported to
   * `failed` and no longer asked (the drain then runs its full time).
   */
  start(
    service: () => ServiceConfig,
    count: ConnectionCounter | undefined,
    done: (why: DrainEnd) => void,
    failed: (err: unknown) => void,
  ): void {
    this.cancel();
    const end = (why: DrainEnd): void => {
      this.cancel();
      done(why);
    };
    this.#timer = this.#clock.setTimeout(() => end('drain-time-over'), service().drainTimeMs);
    if (!count) return;
    this.#poll = this.#clock.setInterval(() => {
      try {
        if (count(service()) === 0) end('no-connections-left');
      } catch (err) {
        this.#clock.clearInterval(this.#poll);
        this.#poll = null;
        failed(err);
      }
    }, DRAIN_POLL_MS);
  }

  cancel(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#clock.clearInterval(this.#poll);
    this.#timer = this.#poll = null;
  }
}
