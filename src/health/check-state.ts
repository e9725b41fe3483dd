// The state machine of one health check, pure (time passed in): rise/fall hysteresis over consecutive
// results, a faster interval while the result is changing, an immediate down on an event (socket gone),
// and RFC 2439-style dampening (dampening.ts) that holds a flapping check down for a bounded time.
//
// States: unknown → (rise successes) up | (one failure) down;  up → (fall failures | event) down;
// down → (rise successes) up, unless suppressed: then a 'dampened' event (to === from) is returned once and
// the check comes up with 'dampening-released' when tick() finds the penalty below the reuse threshold.
// A result that is an agent fault (this process lacked a resource, agent-fault.ts) is neither a failure nor
// a success: the state and both counts stay as they were.
//
// Silence is evidence over a span only: while up, a timeout counts toward fall only if it came at least
// the confirm spacing (CONFIRM_SPACING_FRACTION of the timeout) after the failure counted before it, so
// one stall of this host or of the service cannot fail two overlapping probes at once (a timeout sooner
// is not counted, and the check probes again at its fast interval).

import type { DampeningConfig } from '../config/types.js';
import { Dampening } from './dampening.js';
import type { HealthState, ProbeResult, Transition, TransitionReason } from './types.js';

export interface CheckTiming {
  intervalMs: number;
  fastIntervalMs: number;
  rise: number;
  fall: number;
  dampening: DampeningConfig | null;
  /** The probe's timeout; without it timeouts are counted with no spacing. */
  timeoutMs?: number;
}

/** Fraction of the timeout two counted timeouts must be apart at least. */
export const CONFIRM_SPACING_FRACTION = 2 / 3;

/** How far apart two timeouts must come to count as two failures (ms). */
export function confirmSpacingMs(timeoutMs: number): number {
  return Math.round(timeoutMs * CONFIRM_SPACING_FRACTION);
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
  /** When the last failure counted toward fall was recorded. */
  #failedAt = -Infinity;
  /** The last result was not counted (a timeout too soon): probe again soon. */
  #recheck = false;

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
    const uncounted = r.fault ? null : this.#uncounted(r, now);
    const detail = uncounted === null ? r.detail : `${r.detail} (not counted: ${uncounted})`;
    this.#lastRun = {
      ok: r.ok,
      agentFault: r.fault !== undefined,
      detail,
      durationMs: r.durationMs,
      at: now,
      output: r.output ?? '',
    };
    if (r.fault) {
      this.#lastDetail = `agent fault: ${r.detail}`;
      return null;
    }
    if (uncounted !== null) {
      this.#lastDetail = detail;
      this.#recheck = true;
      return null;
    }
    this.#recheck = false;
    this.#lastDetail = r.detail;
    if (!r.ok) {
      this.#ok = 0;
      this.#fail++;
      this.#failedAt = now;
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

  /** Why `r` is not counted at `now` (a timeout too soon after a failure); null: it is. */
  #uncounted(r: ProbeResult, now: number): string | null {
    const spacing = this.#t.timeoutMs === undefined ? 0 : confirmSpacingMs(this.#t.timeoutMs);
    const gap = now - this.#failedAt;
    if (r.timedOut && this.#state === 'up' && this.#fail > 0 && gap < spacing)
      return `${Math.round(gap)} ms after the last failure, under ${spacing} ms`;
    return null;
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
      this.#recheck ||
      this.#state === 'unknown' ||
      (this.#state === 'up' && this.#fail > 0) ||
      (this.#state === 'down' && this.#ok > 0 && !this.#held);
    return changing ? this.#t.fastIntervalMs : this.#t.intervalMs;
  }

  #penaltyText(now: number): string {
    return `penalty ${Math.round(this.#damp?.penalty(now) ?? 0)}`;
  }
}
