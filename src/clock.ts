// The one clock of the agent: everything that waits or measures time (the agent's ordered steps and
// settling, the drain, the established ring's join grace, the health checks, the BGP timers, the
// cluster's polls) takes a Clock instead of calling the timers of the runtime, so the composition root
// passes `systemClock` and a test passes a clock it moves by hand. Imports nothing: every layer may
// depend on it.
//
// `now()` is monotonic (performance.now(): it never jumps with the wall clock, its origin is this
// process's start) and is the time to measure durations and schedule deadlines with. `wallNow()` is Unix
// time, only for stamps that people or other hosts read. Neither is the kernel's CLOCK_MONOTONIC shared
// with other processes (the data plane's heartbeat in the pinned maps reads that one itself).

/** A timer as the clock that made it knows it; only that clock's clear functions take it. */
export type TimerHandle = unknown;

export interface TimerOptions {
  /** The timer alone does not keep the process alive (Node's unref): for timers a stop need not wait for. */
  unref?: boolean;
}

export interface Clock {
  /** Monotonic milliseconds (fractional); only differences between two readings mean something. */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (may jump): stamps, never durations. */
  wallNow(): number;
  /** Calls `fn` once, `ms` from now. */
  setTimeout(fn: () => void, ms: number, opts?: TimerOptions): TimerHandle;
  /** Cancels a timeout; a handle already fired or cleared, or null/undefined, is ignored. */
  clearTimeout(handle: TimerHandle): void;
  /** Calls `fn` every `ms` from now on, until cleared. */
  setInterval(fn: () => void, ms: number, opts?: TimerOptions): TimerHandle;
  clearInterval(handle: TimerHandle): void;
}

function unrefIf<T extends NodeJS.Timeout>(timer: T, opts: TimerOptions | undefined): T {
  if (opts?.unref) timer.unref();
  return timer;
}

/** The runtime's clock and timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn, ms, opts) => unrefIf(setTimeout(fn, ms), opts),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
  setInterval: (fn, ms, opts) => unrefIf(setInterval(fn, ms), opts),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout | undefined),
};

/**
 * Waits `ms` of `clock` time. Resolves true when the time has passed, false as soon as `signal` aborts
 * (at once if it already has); never rejects.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal, opts?: TimerOptions): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      resolve(false);
    };
    const timer = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      },
      ms,
      opts,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
