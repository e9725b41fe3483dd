// Runs one check on its schedule: probe → CheckState → transition callback, with the probe bounded by the
// check's timeout (aborted through its AbortSignal, and counted as a failure even if it ignores the abort),
// the next run after CheckState.nextDelay(), and a timer for the dampening release. Time is injected.
// A probe that throws or rejects instead of settling is a failed run (an agent fault if its error is one),
// never an exception out of the timer.
//
// Suspicion (suspect()): a passive sign that the service has stopped serving (stall-signs.ts) opens a
// window (suspicion.ts: how long, and the hold after false signs) in which a probe starts now and then
// every fast interval, up to `fall` at once (a hung service's probes each take the whole timeout: one
// after the other, `fall` of them would take fall × timeout), so fall is counted at the fast rate. The
// check's own results decide: a sign never fails a check by itself. In a window the probes start at
// least the confirm spacing apart (check-state.ts: two timeouts closer than that count as one).
//
// A timeout that fired late (by more than LATE_FRACTION of the timeout: this process's event loop was
// blocked or not scheduled, so an answer may be waiting unread: Node runs due timers before it reads
// sockets) does not end the probe: it gets a grace of that fraction of the timeout, in which the
// waiting I/O is read (and a service stalled with this process gets some of its time back); only then
// is it a timeout. A hung service's probes cost that much more on a lagging host, no more.

import { type Clock, systemClock } from '../clock.js';
import { CheckState, type CheckTiming } from './check-state.js';
import { thrownResult } from './probe-util.js';
import { Suspicion, windowSpacingMs } from './suspicion.js';
import type { Probe, ProbeResult, Transition, TransitionReason } from './types.js';

/** A timeout that fired later than this fraction of the timeout after its due time gets a grace as long. */
export const LATE_FRACTION = 1 / 3;

/** A probe error that means this host has no route to anywhere, not that the instance failed. */
const NO_ROUTE_FROM_HERE = /\bENETUNREACH\b/;

export interface RunnerOptions extends CheckTiming {
  timeoutMs: number;
  name: string;
}

export class CheckRunner {
  readonly name: string;
  readonly state: CheckState;
  readonly #opts: RunnerOptions;
  readonly #probe: Probe;
  readonly #clock: Clock;
  readonly #onTransition: (t: Transition) => void;
  #timer: unknown = null;
  #releaseTimer: unknown = null;
  #running = false;
  /** When the last probe started (clock ms). */
  #lastStart = -Infinity;
  readonly #inFlight = new Set<AbortController>();
  readonly #suspicion: Suspicion;

  constructor(
    opts: RunnerOptions,
    probe: Probe,
    onTransition: (t: Transition) => void,
    clock: Clock = systemClock,
  ) {
    this.name = opts.name;
    this.#opts = opts;
    this.#probe = probe;
    this.#clock = clock;
    this.#onTransition = onTransition;
    this.state = new CheckState(opts);
    this.#suspicion = new Suspicion(opts);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  stop(): void {
    this.#running = false;
    for (const a of this.#inFlight) a.abort();
    for (const t of [this.#timer, this.#releaseTimer]) if (t !== null) this.#clock.clearTimeout(t);
    this.#timer = this.#releaseTimer = null;
  }

  /**
   * A passive sign of trouble: probe now and at the fast interval, `fall` at once at most, for one window.
   * Ignored unless the check is up, and while a window is open or held off (suspicion.ts; `waitedMs`:
   * how long the connection behind the sign has waited, 0 if none).
   */
  suspect(detail: string, waitedMs = 0): void {
    if (!this.#running || this.state.state !== 'up') return;
    if (!this.#suspicion.sign(detail, this.#clock.now(), waitedMs)) return;
    this.#clock.clearTimeout(this.#timer);
    this.#fire();
  }

  /** The passive sign behind the current fast window, or null outside one. */
  get suspicion(): string | null {
    return this.#suspicion.detail(this.#clock.now());
  }

  #suspecting(): boolean {
    return this.#suspicion.active(this.#clock.now());
  }

  /** An event failed the check now (e.g. the listening socket is gone). Probing continues as usual. */
  forceDown(reason: TransitionReason, detail: string): void {
    this.#emit(this.state.forceDown(reason, detail, this.#clock.now()));
  }

  /** Runs the probe now (also used by tests); resolves with its result once recorded. */
  async runOnce(): Promise<ProbeResult> {
    const abort = new AbortController();
    this.#inFlight.add(abort);
    try {
      return await this.#run(abort);
    } finally {
      this.#inFlight.delete(abort);
    }
  }

  async #run(abort: AbortController): Promise<ProbeResult> {
    const started = this.#clock.now();
    const timeoutMs = this.#opts.timeoutMs;
    let timer: unknown = null;
    const timedOut = new Promise<ProbeResult>((resolve) => {
      const expire = (graceMs: number) => {
        abort.abort();
        resolve(timeoutResult(timeoutMs, graceMs));
      };
      timer = this.#clock.setTimeout(() => {
        // Late: this loop was blocked, and an answer may be waiting unread behind the timers.
        const lateMs = this.#clock.now() - started - timeoutMs;
        const graceMs = timeoutMs * LATE_FRACTION;
        if (lateMs <= graceMs) return expire(0);
        timer = this.#clock.setTimeout(() => expire(graceMs), graceMs);
      }, timeoutMs);
    });
    let run: Promise<ProbeResult>;
    try {
      run = this.#probe(abort.signal);
    } catch (err) {
      run = Promise.reject(err);
    }
    const probed = run.catch((err: unknown) => thrownResult(err, this.#clock.now() - started));
    const result = await Promise.race([probed, timedOut]);
    this.#clock.clearTimeout(timer);
    // No route at all from this host (its own default routes are gone: its BGP sessions are down) says
    // nothing about the instance: the state is held, so an isolated host does not empty its rings of
    // healthy remote instances and reset their flows when its sessions return.
    if (!result.ok && NO_ROUTE_FROM_HERE.test(result.detail)) return result;
    const failed = !result.ok && !result.fault;
    const sign = failed ? this.#suspicion.during(started, this.#clock.now()) : null;
    if (failed) this.#suspicion.failed();
    const recorded = sign === null ? result : { ...result, detail: `${result.detail} (after: ${sign})` };
    this.#emit(this.state.record(recorded, this.#clock.now()));
    return result;
  }

  #schedule(delay: number): void {
    this.#timer = this.#clock.setTimeout(() => this.#fire(), delay);
  }

  /** Starts a probe if one may start; the next one is timed now (suspecting) or when it settles. */
  #fire(): void {
    this.#timer = null;
    if (!this.#running) return;
    const suspecting = this.#suspecting();
    if (this.#mayStart(suspecting)) {
      this.#lastStart = this.#clock.now();
      void this.runOnce().then(() => this.#settled());
    }
    // At `fall` in flight the next one waits for one to settle.
    if (suspecting && this.#inFlight.size < this.#opts.fall) this.#schedule(this.#windowDelay());
  }

  /** One probe at a time, or in a window up to `fall`, each started the window spacing after the last. */
  #mayStart(suspecting: boolean): boolean {
    const n = this.#inFlight.size;
    if (n === 0) return true;
    return (
      suspecting && n < this.#opts.fall && this.#clock.now() - this.#lastStart >= windowSpacingMs(this.#opts)
    );
  }

  /**
   * In a window, the delay to the next probe: one fast interval after the last start when none is in
   * flight (an answer is evidence at once), one window spacing after it while one is (overlapping
   * probes of a silent service time out that far apart).
   */
  #windowDelay(): number {
    const gap = this.#inFlight.size > 0 ? windowSpacingMs(this.#opts) : this.#opts.fastIntervalMs;
    return Math.max(0, this.#lastStart + gap - this.#clock.now());
  }

  /** A probe settled: in a window the next is timed again; outside one, the last in flight times it. */
  #settled(): void {
    if (!this.#running) return;
    if (this.#suspecting()) {
      this.#clock.clearTimeout(this.#timer);
      this.#schedule(this.#windowDelay());
    } else if (this.#timer === null && this.#inFlight.size === 0) this.#schedule(this.state.nextDelay());
  }

  #emit(t: Transition | null): void {
    if (t === null || !this.#running) return;
    this.#onTransition(t);
    this.#armRelease();
  }

  /** While dampening holds the check, wake up when the penalty is due to fall below reuse. */
  #armRelease(): void {
    const release = this.state.releaseAt(this.#clock.now());
    if (release === null || this.#releaseTimer !== null || !this.#running) return;
    this.#releaseTimer = this.#clock.setTimeout(() => {
      this.#releaseTimer = null;
      this.#emit(this.state.tick(this.#clock.now()));
      this.#armRelease();
    }, release - this.#clock.now());
  }
}

/** The result of a run its timeout settled, after a grace for this process's lag (0: none). */
function timeoutResult(timeoutMs: number, graceMs: number): ProbeResult {
  const lag = graceMs > 0 ? ` (+${Math.round(graceMs)} ms: this agent lagged)` : '';
  return {
    ok: false,
    durationMs: timeoutMs + graceMs,
    detail: `timeout after ${timeoutMs}ms${lag}`,
    timedOut: true,
  };
}
