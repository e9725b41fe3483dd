// The health of one instance of a service: all of its checks must be up for it to be up. Aggregates the
// checks' transitions, applies the drain state (a healthy drained instance is 'drained'), takes
// event-driven failures (socket gone) and signs of a stall (the stall-watching checks probe fast at
// once), and emits one transition per change of the instance's state, each with the reason of the check
// or event that caused it. A 'dampened' hold event is passed on with
// from === to when it is the only thing keeping the instance down.

import { type Clock, systemClock } from '../clock.js';
import { CheckRunner, type RunnerOptions } from './check-runner.js';
import type { HealthState, Probe, Transition, TransitionReason } from './types.js';

export type InstanceState = HealthState | 'drained';

export interface InstanceTransition {
  service: string;
  instance: string;
  local: boolean;
  from: InstanceState;
  to: InstanceState;
  reason: TransitionReason;
  /** The check that caused it ("" for drain and events on the instance). */
  check: string;
  detail: string;
  at: number;
}

/** One check of an instance as the operator sees it (src/agent/health-port.ts CheckView). */
export interface CheckSnapshot {
  name: string;
  state: HealthState;
  /** The last run's detail, or the event that failed the check (socket gone). */
  detail: string;
  lastRun: {
    ok: boolean;
    agentFault: boolean;
    detail: string;
    latencyMs: number;
    /** How long ago it ran (ms). */
    ageMs: number;
    output: string;
  } | null;
  streak: { ok: number; failed: number };
  held: boolean;
  /** The sign of a stall the check is probing fast after, while it does; null otherwise. */
  suspicion: string | null;
}

export interface InstanceCheck {
  options: RunnerOptions;
  probe: Probe;
  /** Fails at once when the local listening socket disappears. */
  watchSocket: boolean;
  /** Probes at its fast interval at once on a sign that the local service stalled. */
  watchStall?: boolean;
}

export interface InstanceHealthOptions {
  service: string;
  instance: string;
  local: boolean;
  checks: InstanceCheck[];
  onTransition: (t: InstanceTransition) => void;
  clock?: Clock;
}

export class InstanceHealth {
  readonly service: string;
  readonly instance: string;
  readonly local: boolean;
  readonly #runners: { runner: CheckRunner; watchSocket: boolean; watchStall: boolean }[];
  readonly #emit: (t: InstanceTransition) => void;
  readonly #clock: Clock;
  #state: InstanceState = 'unknown';
  #drained = false;

  constructor(opts: InstanceHealthOptions) {
    this.service = opts.service;
    this.instance = opts.instance;
    this.local = opts.local;
    this.#emit = opts.onTransition;
    this.#clock = opts.clock ?? systemClock;
    this.#runners = opts.checks.map((c) => {
      const runner: CheckRunner = new CheckRunner(
        c.options,
        c.probe,
        (t) => this.#onCheck(runner.name, t),
        this.#clock,
      );
      return { runner, watchSocket: c.watchSocket, watchStall: c.watchStall ?? false };
    });
  }

  get state(): InstanceState {
    return this.#state;
  }

  get drained(): boolean {
    return this.#drained;
  }

  /**
   * Checks that are state machines of their own, by name (for metrics and the API); `suspicion` is the
   * sign of a stall a check is probing fast after, while it does.
   */
  checks(): CheckSnapshot[] {
    const now = this.#clock.now();
    return this.#runners.map(({ runner }) => {
      const last = runner.state.lastRun;
      return {
        name: runner.name,
        state: runner.state.state,
        detail: runner.state.lastDetail,
        lastRun: last && {
          ok: last.ok,
          agentFault: last.agentFault,
          detail: last.detail,
          latencyMs: last.durationMs,
          ageMs: now - last.at,
          output: last.output,
        },
        streak: runner.state.streak,
        held: runner.state.held,
        suspicion: runner.suspicion,
      };
    });
  }

  start(): void {
    for (const { runner } of this.#runners) runner.start();
  }

  stop(): void {
    for (const { runner } of this.#runners) runner.stop();
  }

  /** The local listening socket disappeared: every socket-watching check fails now. */
  socketGone(detail: string): void {
    for (const { runner, watchSocket } of this.#runners)
      if (watchSocket) runner.forceDown('socket-gone', detail);
  }

  /**
   * A sign that the local service stalled (`waitedMs`: how long its connection has waited, 0 if none):
   * every stall-watching check probes at its fast interval now.
   */
  suspect(detail: string, waitedMs = 0): void {
    for (const { runner, watchStall } of this.#runners) if (watchStall) runner.suspect(detail, waitedMs);
  }

  setDrained(drained: boolean, detail: string): void {
    if (drained === this.#drained) return;
    this.#drained = drained;
    this.#update(drained ? 'drained' : 'undrained', '', detail);
  }

  #aggregate(): InstanceState {
    const states = this.#runners.map(({ runner }) => runner.state.state);
    const health: HealthState = states.includes('down')
      ? 'down'
      : states.includes('unknown')
        ? 'unknown'
        : 'up';
    return health === 'up' && this.#drained ? 'drained' : health;
  }

  #onCheck(check: string, t: Transition): void {
    if (t.from === t.to) {
      // A dampening hold: worth reporting only if this check is all that keeps the instance down.
      const others = this.#runners.filter(({ runner }) => runner.name !== check);
      if (others.every(({ runner }) => runner.state.state === 'up'))
        this.#emit(this.#transition(this.#state, this.#state, t.reason, check, t.detail));
      return;
    }
    this.#update(t.reason, check, t.detail);
  }

  #update(reason: TransitionReason, check: string, detail: string): void {
    const next = this.#aggregate();
    if (next === this.#state) return;
    const from = this.#state;
    this.#state = next;
    this.#emit(this.#transition(from, next, reason, check, detail));
  }

  #transition(
    from: InstanceState,
    to: InstanceState,
    reason: TransitionReason,
    check: string,
    detail: string,
  ): InstanceTransition {
    return {
      service: this.service,
      instance: this.instance,
      local: this.local,
      from,
      to,
      reason,
      check,
      detail,
      at: this.#clock.now(),
    };
  }
}
