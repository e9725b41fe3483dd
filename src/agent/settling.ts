// When a service's first round of checks has settled, so the agent may act on it: the local instance
// judged (up, down or drained) and every remote instance up — or, failing that, once grace_time has
// passed. A remote instance seen down at start may only be unreachable from here for now (no route of
// ours yet, our host address not yet at the ToRs): settling on it would advertise the VIP with a ring
// lacking it and re-steer the flows other hosts send here (found in the lab after a restart), so such a
// start waits for grace_time. Until then a restarting host never advertises a dead service; after a
// reload that rebuilt the checks, the running state is held the same way.

import type { Clock, TimerHandle } from '../clock.js';
import type { InstanceState } from '../health/instance-health.js';

export type SettleReason = 'checks-settled' | 'grace-time';

export class Settling {
  readonly #clock: Clock;
  readonly #onSettled: (reason: SettleReason) => void;
  #settled = false;
  #stopped = false;
  #grace: TimerHandle = null;

  constructor(clock: Clock, onSettled: (reason: SettleReason) => void) {
    this.#clock = clock;
    this.#onSettled = onSettled;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** (Re)arms grace_time: settled by then at the latest. */
  start(graceMs: number): void {
    this.#clock.clearTimeout(this.#grace);
    this.#grace = this.#clock.setTimeout(() => this.#settle('grace-time'), graceMs, { unref: true });
  }

  /** New checkers start unknown: unsettled until they settle again (start() re-arms grace_time). */
  hold(): void {
    this.#settled = false;
  }

  /** Settles once the checks allow it (see the header). */
  check(states: ReadonlyMap<string, InstanceState>, local: string): void {
    if ([...states].every(([id, s]) => (id === local ? s !== 'unknown' : s === 'up')))
      this.#settle('checks-settled');
  }

  /** Never settles from now on. */
  stop(): void {
    this.#stopped = true;
    this.#clearGrace();
  }

  #settle(reason: SettleReason): void {
    if (this.#settled || this.#stopped) return;
    this.#settled = true;
    this.#clearGrace();
    this.#onSettled(reason);
  }

  #clearGrace(): void {
    this.#clock.clearTimeout(this.#grace);
    this.#grace = null;
  }
}
