// Small helpers shared by the probes: measuring a probe's duration and settling it exactly once, also
// when its AbortSignal fires (the runner's timeout), and settling from an error — as an agent fault when
// this process lacked the resource (agent-fault.ts). Nothing here throws out of the event handler that
// settles: a cleanup that throws is ignored, the result is already decided. The duration is read from the
// system clock (the probes do real I/O).

import { systemClock } from '../clock.js';
import { agentFaultOf } from './agent-fault.js';
import type { AgentFault, ProbeResult } from './types.js';

export type Settle = (ok: boolean, detail: string, fault?: AgentFault) => void;

/**
 * Runs `body` with a `settle` callback that resolves the probe once (later calls are ignored) and a
 * cleanup list run on settle. An abort settles with "aborted" unless the body already settled.
 */
export function runProbe(
  signal: AbortSignal,
  body: (settle: Settle, cleanup: (fn: () => void) => void) => void,
) {
  const started = systemClock.now();
  return new Promise<ProbeResult>((resolve) => {
    const cleanups: (() => void)[] = [];
    let done = false;
    const settle: Settle = (ok, detail, fault) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      for (const fn of cleanups) {
        try {
          fn();
        } catch {
          // releasing a socket that is already gone; the verdict stands
        }
      }
      resolve({ ok, durationMs: systemClock.now() - started, detail, ...(fault ? { fault } : {}) });
    };
    const onAbort = () => settle(false, 'aborted (timeout)');
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      body(settle, (fn) => cleanups.push(fn));
    } catch (err) {
      settleError(settle, err, (e) => (e instanceof Error ? e.message : String(e)));
    }
  });
}

/**
 * Fails the probe with `err`: an agent fault (detail: the errno name) when this process lacked the
 * resource, else a failure of the target described by `text`.
 */
export function settleError(settle: Settle, err: unknown, text: (err: unknown) => string = errorText): void {
  const fault = agentFaultOf(err);
  if (fault) settle(false, errorText(err), fault);
  else settle(false, text(err));
}

/** The result of a probe that threw or rejected instead of settling. */
export function thrownResult(err: unknown, durationMs: number): ProbeResult {
  const fault = agentFaultOf(err);
  return fault
    ? { ok: false, durationMs, detail: errorText(err), fault }
    : { ok: false, durationMs, detail: String(err) };
}

/** "ECONNREFUSED" for a Node system error, else the message. */
export function errorText(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
}
