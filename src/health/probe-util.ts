// Small helpers shared by the probes: measuring a probe's duration and settling it exactly once, also
// when its AbortSignal fires (the runner's timeout).

import type { ProbeResult } from './types.js';

export type Settle = (ok: boolean, detail: string) => void;

/**
 * Runs `body` with a `settle` callback that resolves the probe once (later calls are ignored) and a
 * cleanup list run on settle. An abort settles with "aborted" unless the body already settled.
 */
export function runProbe(
  signal: AbortSignal,
  body: (settle: Settle, cleanup: (fn: () => void) => void) => void,
) {
  const started = performance.now();
  return new Promise<ProbeResult>((resolve) => {
    const cleanups: (() => void)[] = [];
    let done = false;
    const settle: Settle = (ok, detail) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      for (const fn of cleanups) fn();
      resolve({ ok, durationMs: performance.now() - started, detail });
    };
    const onAbort = () => settle(false, 'aborted (timeout)');
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      body(settle, (fn) => cleanups.push(fn));
    } catch (err) {
      settle(false, (err as Error).message);
    }
  });
}

/** "ECONNREFUSED" for a Node system error, else the message. */
export function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
}
