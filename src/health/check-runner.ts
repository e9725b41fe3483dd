// Runs one check on its schedule: probe → CheckState → transition callback, with the probe bounded by the
// check's timeout (aborted through its AbortSignal, and counted as a failure even if it ignores the abort),
// the next run after CheckState.nextDelay(), and a timer for the dampening release. Time is injected.
// A probe that throws or rejects instead of settling is a failed run (an agent fault if its error is one),
// never an exception out of the timer.

import { type Clock, systemClock } from '../clock.js';
import { CheckState, type CheckTiming } from './check-state.js';
import { thrownResult } from './probe-util.js';
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
  #abort: AbortController | null = null;

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
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  stop(): void {
    this.#running = false;
    this.#abort?.abort();
    for (const t of [this.#timer, this.#releaseTimer]) if (t !== null) this.#clock.clearTimeout(t);
    this.#timer = this.#releaseTimer = null;
  }

  /** An event failed the check now (e.g. the listening socket is gone). Probing continues as usual. */
  forceDown(reason: TransitionReason, detail: string): void {
    this.#emit(this.state.forceDown(reason, detail, this.#clock.now()));
  }

  /** Runs the probe now (also used by tests); resolves with its result once recorded. */
  async runOnce(): Promise<ProbeResult> {
    const abort = new AbortController();
    this.#abort = abort;
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
    this.#emit(this.state.record(result, this.#clock.now()));
    return result;
  }

  #schedule(delay: number): void {
    this.#timer = this.#clock.setTimeout(() => {
      void this.runOnce().then(() => {
        if (this.#running) this.#schedule(this.state.nextDelay());
      });
    }, delay);
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
