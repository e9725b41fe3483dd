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
// check's own results decide: a sign never fails a check by itself.

import { type Clock, systemClock } from '../clock.js';
import { CheckState, type CheckTiming } from './check-state.js';
import { thrownResult } from './probe-util.js';
import { Suspicion } from './suspicion.js';
import type { Probe, ProbeResult, Transition, TransitionReason } from './types.js';

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
   * Ignored unless the check is up, and while a window is open or held off (suspicion.ts).
   */
  suspect(detail: string): void {
    if (!this.#running || this.state.state !== 'up') return;
    if (!this.#suspicion.sign(detail, this.#clock.now())) return;
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
      timer = this.#clock.setTimeout(() => {
        abort.abort();
        resolve({ ok: false, durationMs: timeoutMs, detail: `timeout after ${timeoutMs}ms` });
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
    const sign = failed ? this.suspicion : null;
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
    if (this.#inFlight.size < (suspecting ? this.#opts.fall : 1))
      void this.runOnce().then(() => this.#settled());
    if (suspecting) this.#schedule(this.#opts.fastIntervalMs);
  }

  /** A probe settled: outside a window, the last one in flight times the next. */
  #settled(): void {
    if (this.#running && this.#timer === null && this.#inFlight.size === 0)
      this.#schedule(this.#suspecting() ? this.#opts.fastIntervalMs : this.state.nextDelay());
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
