// Waiting in tests for what the agent's clock does not drive — the kernel (a BPF map, a socket's state,
// a netlink event), a child process, a peer: a bounded poll of a real condition, on real time. A test of
// the agent's own timers moves a FakeClock instead (fake-clock.ts) and never waits.

export interface WaitOptions {
  /** Give up (and throw) after this long. */
  timeoutMs?: number;
  /** Between two looks. */
  intervalMs?: number;
  /** Named in the error. */
  what?: string;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_INTERVAL_MS = 10;

/**
 * Polls `probe` until it returns a truthy value and resolves with that value; throws after `timeoutMs`.
 * A probe that throws is asked again (the last error is in the timeout's message).
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = performance.now() + timeoutMs;
  let last: unknown = 'not yet';
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as Exclude<T, false | null | undefined | 0 | ''>;
      last = 'not yet';
    } catch (err) {
      last = err instanceof Error ? err.message : err;
    }
    if (performance.now() >= deadline)
      throw new Error(`${opts.what ?? 'condition'} not reached in ${timeoutMs} ms (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? DEFAULT_INTERVAL_MS));
  }
}

/** Resolves as `promise` does, or rejects naming `what` (read then) if it has not settled after `ms`. */
export function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string | (() => string) = 'operation',
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${typeof what === 'function' ? what() : what} not done in ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
