// A Clock (src/clock.ts) that moves only when the test moves it: timers fire in due order (ties in the
// order they were armed), each at its own time, and `advance` lets pending promise callbacks run after
// each one, so code that awaits its own timers runs to the same point it would in real time — without
// the wait. For code driven by this clock and promises only; what waits on the kernel or a socket needs
// real time (wait-for.ts).

import type { Clock, TimerHandle } from '../../src/clock.js';

interface Timer {
  at: number;
  /** Arming order: breaks ties between timers due at the same time. */
  order: number;
  fn: () => void;
  /** Period of an interval; undefined for a timeout. */
  every: number | undefined;
}

/** Bound on timers fired by one runAll/settle (an interval would run forever). */
const MAX_FIRES = 100_000;

export class FakeClock implements Clock {
  #now = 0;
  #ids = 0;
  #order = 0;
  readonly #timers = new Map<number, Timer>();
  readonly #wallStart: number;

  /** `wallStart`: what wallNow() reads at time 0 (Unix ms). */
  constructor(opts: { wallStart?: number } = {}) {
    this.#wallStart = opts.wallStart ?? 0;
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#wallStart + this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.#arm(fn, ms, undefined);
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.#arm(fn, ms, Math.max(1, ms));
  }

  clearInterval(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** Timers armed and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time by `ms`, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await flush();
      if (!this.#fireNext(end)) break;
    }
    this.#now = end;
    await flush();
  }

  /** Moves time by `ms`, firing due timers in order, without yielding (for synchronous state machines). */
  advanceSync(ms: number): void {
    const end = this.#now + ms;
    while (this.#fireNext(end));
    this.#now = end;
  }

  /**
   * Moves time by `ms` WITHOUT firing the timers that fall due meanwhile, as when the event loop is
   * blocked (or the process is not scheduled): they fire late, at the next advance, in due order.
   */
  block(ms: number): void {
    this.#now += ms;
  }

  /** Fires every timer, moving time to each, until none is left (promises settle after each). */
  async runAll(): Promise<void> {
    for (let n = 0; ; n++) {
      await flush();
      if (n > MAX_FIRES) throw new Error(`FakeClock.runAll: still firing after ${MAX_FIRES} timers`);
      if (!this.#fireNext(Number.POSITIVE_INFINITY)) return;
    }
  }

  /**
   * Runs `promise` to its end: lets promises settle, and while it is still pending fires the next timer
   * (moving time to it). Throws when it is still pending with no timer left, or after `maxMs` of clock
   * time. Resolves (or rejects) as `promise` does.
   */
  async settle<T>(promise: Promise<T>, maxMs = Number.POSITIVE_INFINITY): Promise<T> {
    let done = false;
    const watched = promise.finally(() => {
      done = true;
    });
    watched.catch(() => {}); // the caller gets the rejection from the return below
    const end = this.#now + maxMs;
    for (let n = 0; ; n++) {
      await flush();
      if (done) return watched;
      if (n > MAX_FIRES) throw new Error(`FakeClock.settle: still pending after ${MAX_FIRES} timers`);
      if (!this.#fireNext(end))
        throw new Error(
          Number.isFinite(maxMs) && this.pending > 0
            ? `FakeClock.settle: still pending after ${maxMs} ms`
            : 'FakeClock.settle: still pending and no timer left to fire',
        );
    }
  }

  #arm(fn: () => void, ms: number, every: number | undefined): number {
    const id = ++this.#ids;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), order: ++this.#order, fn, every });
    return id;
  }

  /** Fires the earliest timer due by `end`, moving time to it; false if there is none. */
  #fireNext(end: number): boolean {
    let id: number | undefined;
    let next: Timer | undefined;
    for (const [k, t] of this.#timers)
      if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.order < next.order))) {
        id = k;
        next = t;
      }
    if (id === undefined || !next) return false;
    // A timer overdue after block() fires late: time does not go back to its due time.
    this.#now = Math.max(this.#now, next.at);
    if (next.every === undefined) this.#timers.delete(id);
    else this.#timers.set(id, { ...next, at: this.#now + next.every, order: ++this.#order });
    next.fn();
    return true;
  }
}

/** Lets pending promise callbacks (and what they schedule with setImmediate) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
