// The state machine of one health check, pure (time passed in): rise/fall hysteresis over consecutive
// results, a faster interval while the result is changing, an immediate down on an event (socket gone),
// and RFC 2439-style dampening (dampening.ts) that holds a flapping check down for a bounded time.
//
// States: unknown → (rise successes) up | (one failure) down;  up → (fall failures | event) down;
// down → (rise successes) up, unless suppressed: then a 'dampened' event (to === from) is returned once and
// the check comes up with 'dampening-released' when tick() finds the penalty below the reuse threshold.
// A result that is an agent fault (this process lacked a resource, agent-fault.ts) is neither a failure nor
// a success: the state and both counts stay as they were.

import type { DampeningConfig } from '../config/types.js';
import { Dampening } from './dampening.js';
import type { HealthState, ProbeResult, Transition, TransitionReason } from './types.js';

export interface CheckTiming {
  intervalMs: number;
  fastIntervalMs: number;
  rise: number;
  fall: number;
  dampening: DampeningConfig | null;
}

/** The last probe run a check recorded (clock ms). */
export interface LastRun {
  ok: boolean;
  /** The run could not reach the instance for lack of a resource here (agent-fault.ts). */
  agentFault: boolean;
  detail: string;
  durationMs: number;
  at: number;
  /** First lines of stderr (exec checks), "" if none. */
  output: string;
}

export class CheckState {
  readonly #t: CheckTiming;
  readonly #damp: Dampening | null;
  #state: HealthState = 'unknown';
  #ok = 0;
  #fail = 0;
  #held = false;
  #lastDetail = '';
  #lastRun: LastRun | null = null;

  constructor(timing: CheckTiming) {
    this.#t = timing;
    this.#damp = timing.dampening ? new Dampening(timing.dampening) : null;
  }

  get state(): HealthState {
    return this.#state;
  }

  /** True while rise was reached but dampening holds the check down. */
  get held(): boolean {
    return this.#held;
  }

  get lastDetail(): string {
    return this.#lastDetail;
  }

  /** The last probe run recorded; null before the first. */
  get lastRun(): LastRun | null {
    return this.#lastRun;
  }

  /** Consecutive successes and failures of the runs so far (one of them is 0). */
  get streak(): { ok: number; failed: number } {
    return { ok: this.#ok, failed: this.#fail };
  }

  #move(to: HealthState, reason: TransitionReason, now: number, detail: string): Transition {
    const from = this.#state;
    this.#state = to;
    if (from === 'up' && to === 'down') this.#damp?.flap(now);
    return { from, to, reason, at: now, detail };
  }

  /** Feeds one probe result; returns a transition (or a 'dampened' hold event) if there is one. */
  record(r: ProbeResult, now: number): Transition | null {
    this.#lastRun = {
      ok: r.ok,
      agentFault: r.fault !== undefined,
      detail: r.detail,
      durationMs: r.durationMs,
      at: now,
      output: r.output ?? '',
    };
    if (r.fault) {
      this.#lastDetail = `agent fault: ${r.detail}`;
      return null;
    }
    this.#lastDetail = r.detail;
    if (!r.ok) {
      this.#ok = 0;
      this.#fail++;
      this.#held = false;
      if (this.#state === 'unknown' || (this.#state === 'up' && this.#fail >= this.#t.fall))
        return this.#move('down', 'check-failed', now, r.detail);
      return null;
    }
    this.#fail = 0;
    this.#ok++;
    if (this.#state === 'up' || this.#ok < this.#t.rise) return null;
    if (this.#damp?.suppressed(now)) {
      if (this.#held) return null;
      this.#held = true;
      return {
        from: this.#state,
        to: this.#state,
        reason: 'dampened',
        at: now,
        detail: this.#penaltyText(now),
      };
    }
    return this.#move('up', 'rise-reached', now, r.detail);
  }

  /** An event says the check has failed (e.g. 'socket-gone'): down at once, without waiting for fall. */
  forceDown(reason: TransitionReason, detail: string, now: number): Transition | null {
    this.#ok = 0;
    this.#fail = Math.max(this.#fail, this.#t.fall);
    this.#held = false;
    this.#lastDetail = detail;
    return this.#state === 'down' ? null : this.#move('down', reason, now, detail);
  }

  /** Re-evaluates dampening at `now`: brings a held check up once its penalty is below reuse. */
  tick(now: number): Transition | null {
    if (!this.#held || this.#damp?.suppressed(now)) return null;
    this.#held = false;
    return this.#move('up', 'dampening-released', now, this.#penaltyText(now));
  }

  /** When tick() should next run (null when nothing is held). */
  releaseAt(now: number): number | null {
    return this.#held && this.#damp ? this.#damp.releaseAt(now) : null;
  }

  /** Delay to the next probe: the fast interval while unknown or while the result is changing. */
  nextDelay(): number {
    const changing =
      this.#state === 'unknown' ||
      (this.#state === 'up' && this.#fail > 0) ||
      (this.#state === 'down' && this.#ok > 0 && !this.#held);
    return changing ? this.#t.fastIntervalMs : this.#t.intervalMs;
  }

  #penaltyText(now: number): string {
    return `penalty ${Math.round(this.#damp?.penalty(now) ?? 0)}`;
  }
}
