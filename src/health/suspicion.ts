// When a check runs fast on a passive sign of trouble (stall-signs.ts): each sign may open a window of
// timeout + fall window spacings (long enough for `fall` probes started one spacing apart to settle;
// the spacing is the fast interval, and no less than the confirm spacing of check-state.ts). A window
// in which some probe failed leaves no hold: the next sign opens the next window at once. A window in
// which every probe passed (a false sign: a loaded host where the service waited its turn for the CPU,
// or a long-poll service) holds the next one off for timeout + fall fast intervals,
// doubling per such window in a row up to one interval; a sign after a quiet interval starts again from
// no hold. So a service that always shows a sign costs about one window of fast probes per interval,
// and one false sign delays a true one by timeout + fall fast intervals at most.
//
// But a stalled service's sign grows: the connection behind it keeps waiting, while on a loaded host
// the one that made a false sign is taken in its turn. So the hold only keeps off signs whose
// connection has waited no longer than the longest wait seen from the last window's opening on (its
// sign's and those that came while it was open or held): a longer wait opens a window at once, and if
// that one is false too its longest wait is the next bar. On a host loaded enough to give false signs
// all the time (the hold at one interval) a stall is then seen once its connection has waited longer
// than the loaded service ever made one wait, not up to an interval later. Signs with no wait (a 5xx
// answer) are held as before.

import { confirmSpacingMs } from './check-state.js';

export interface SuspicionTiming {
  intervalMs: number;
  fastIntervalMs: number;
  timeoutMs: number;
  fall: number;
}

/** Between two probes of a window: the fast interval, and no less than the confirm spacing. */
export function windowSpacingMs(t: SuspicionTiming): number {
  return Math.max(t.fastIntervalMs, confirmSpacingMs(t.timeoutMs));
}

export class Suspicion {
  readonly #t: SuspicionTiming;
  #from = -Infinity;
  #until = -Infinity;
  #detail: string | null = null;
  #failed = false;
  /** Windows in a row in which every probe passed. */
  #clean = 0;
  #lastSign = -Infinity;
  /** The longest wait of a sign since the last window opened (ms): a held sign must wait longer. */
  #seenWaitMs = 0;

  constructor(t: SuspicionTiming) {
    this.#t = t;
  }

  get windowMs(): number {
    return this.#t.timeoutMs + this.#t.fall * windowSpacingMs(this.#t);
  }

  /** Whether a window is open at `now`. */
  active(now: number): boolean {
    return now < this.#until;
  }

  /** The sign behind the open window and how long ago it opened it, or null. */
  detail(now: number): string | null {
    return this.active(now) ? this.#since(now) : null;
  }

  /**
   * The sign behind the last window if it was open at any time from `start` to `now` (a probe that
   * started in a window and settled after it), as detail() says it; else null.
   */
  during(start: number, now: number): string | null {
    return this.#detail !== null && this.#from <= now && this.#until > start ? this.#since(now) : null;
  }

  #since(now: number): string {
    return `${this.#detail}, ${Math.round(now - this.#from)} ms ago`;
  }

  /** A probe failed (during a window or not: either way the sign was not false). */
  failed(): void {
    this.#failed = true;
  }

  /**
   * A sign at `now` whose connection has waited `waitedMs` (0: none): opens a window (true) unless one
   * is open, or the hold after false ones lasts and the wait is no longer than the longest since then.
   */
  sign(detail: string, now: number, waitedMs = 0): boolean {
    const quiet = now - this.#lastSign >= this.#t.intervalMs;
    this.#lastSign = now;
    if (this.active(now)) {
      this.#seenWaitMs = Math.max(this.#seenWaitMs, waitedMs);
      return false;
    }
    if (this.#from > -Infinity) {
      const held = now < this.#until + this.#hold(this.#clean + 1) && waitedMs <= this.#seenWaitMs;
      if (this.#failed || quiet) this.#clean = 0;
      else if (held) return false;
      else this.#clean++;
    }
    this.#seenWaitMs = waitedMs;
    this.#from = now;
    this.#until = now + this.windowMs;
    this.#detail = detail;
    this.#failed = false;
    return true;
  }

  /**
   * Hold after `n` false windows in a row: timeout + fall fast intervals (the window's length before
   * the confirm spacing lengthened it: a true sign after a false one waits no longer), doubling, at
   * most one interval.
   */
  #hold(n: number): number {
    const unit = this.#t.timeoutMs + this.#t.fall * this.#t.fastIntervalMs;
    return Math.min(this.#t.intervalMs, unit * 2 ** (n - 1));
  }
}
