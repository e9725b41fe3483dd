// The BGP-4 finite state machine of RFC 4271 §8: one handler per state (src/bgp/fsm/*.ts) takes an
// event and returns the next state and a kebab-case reason; this class owns the state, the timers
// (through an injected Clock), the ConnectRetryCounter and the retry backoff, and reports every
// action (connect, send OPEN/KEEPALIVE/NOTIFICATION, drop, timers, session up/down) to `output`.
// Pure: no sockets. Events raised while an action is being handled are queued, never re-entered.

import { type Clock, systemClock } from '../clock.js';
import { active } from './fsm/active.js';
import { connect } from './fsm/connect.js';
import type { FsmContext } from './fsm/context.js';
import { established } from './fsm/established.js';
import { idle } from './fsm/idle.js';
import { openConfirm } from './fsm/open-confirm.js';
import { openSent } from './fsm/open-sent.js';
import type {
  FsmAction,
  FsmConfig,
  FsmEvent,
  FsmState,
  Negotiated,
  TimerName,
  Transition,
} from './fsm/types.js';

export * from './fsm/types.js';

const HANDLERS: Record<FsmState, (ctx: FsmContext, ev: FsmEvent) => Transition> = {
  idle,
  connect,
  active,
  'open-sent': openSent,
  'open-confirm': openConfirm,
  established,
};

const TIMER_EVENT: Record<TimerName, FsmEvent> = {
  'connect-retry': { type: 'connect-retry-timer-expires' },
  hold: { type: 'hold-timer-expires' },
  keepalive: { type: 'keepalive-timer-expires' },
  'idle-hold': { type: 'idle-hold-timer-expires' },
};

export const DEFAULT_RETRY_BASE_MS = 1000;
export const DEFAULT_RETRY_MAX_MS = 120_000;
/** RFC 4271 §10: jitter multiplies a timer by a random factor in [0.75, 1]. */
const JITTER_MIN = 0.75;
const JITTER_SPAN = 0.25;

export interface FsmOptions {
  output: (a: FsmAction) => void;
  /** The agent's clock (src/clock.ts); the FSM only arms and clears timers. */
  clock?: FsmClock;
  /** Source of jitter in [0, 1); tests pass a constant. */
  random?: () => number;
}

export type FsmClock = Pick<Clock, 'setTimeout' | 'clearTimeout'>;

export class Fsm implements FsmContext {
  state: FsmState = 'idle';
  connectRetryCounter = 0;
  negotiated: Negotiated | undefined;
  /** Failed attempts since the last Established (or manual stop): the backoff exponent. */
  failures = 0;
  private readonly timers = new Map<TimerName, unknown>();
  private readonly clock: FsmClock;
  private readonly random: () => number;
  private readonly output: (a: FsmAction) => void;
  private busy = false;
  private readonly queue: FsmEvent[] = [];

  constructor(
    readonly config: FsmConfig,
    opts: FsmOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.output = opts.output;
  }

  handle(ev: FsmEvent): void {
    this.queue.push(ev);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) this.step(next);
    } finally {
      this.busy = false;
    }
  }

  /** Stop every timer without emitting actions: the session is done with this FSM instance. */
  dispose(): void {
    for (const h of this.timers.values()) this.clock.clearTimeout(h);
    this.timers.clear();
  }

  /** Is this timer running? (for tests and status) */
  timerRunning(t: TimerName): boolean {
    return this.timers.has(t);
  }

  private step(ev: FsmEvent): void {
    const from = this.state;
    const t = HANDLERS[from](this, ev);
    if (!t || t.next === from) return;
    this.state = t.next;
    this.emit({ type: 'state-change', from, to: t.next, reason: t.reason });
    if (from === 'established') this.emit({ type: 'session-down', reason: t.reason });
    if (t.next === 'established' && this.negotiated) {
      this.failures = 0;
      this.emit({ type: 'session-up', negotiated: this.negotiated });
    }
    if (t.next === 'idle') this.enterIdle(t.reason);
  }

  private enterIdle(reason: string): void {
    this.negotiated = undefined;
    if (reason === 'manual-stop') {
      this.failures = 0;
      return;
    }
    this.failed();
    // RFC 4271 §8.1.1 (DampPeerOscillations): restart automatically after a growing idle hold time.
    if (this.config.autoRestart ?? true) this.startTimer('idle-hold', this.retryDelayMs());
  }

  // FsmContext

  emit(a: FsmAction): void {
    this.output(a);
  }

  startTimer(t: TimerName, ms: number): void {
    const old = this.timers.get(t);
    if (old !== undefined) this.clock.clearTimeout(old);
    const handle = this.clock.setTimeout(() => {
      if (this.timers.get(t) !== handle) return;
      this.timers.delete(t);
      this.handle(TIMER_EVENT[t]);
    }, ms);
    this.timers.set(t, handle);
    this.emit({ type: 'timer-start', timer: t, ms });
  }

  stopTimer(t: TimerName): void {
    const h = this.timers.get(t);
    if (h === undefined) return;
    this.clock.clearTimeout(h);
    this.timers.delete(t);
    this.emit({ type: 'timer-stop', timer: t });
  }

  stopAllTimers(): void {
    for (const t of [...this.timers.keys()]) this.stopTimer(t);
  }

  retryDelayMs(): number {
    const base = this.config.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
    const max = this.config.retryMaxMs ?? DEFAULT_RETRY_MAX_MS;
    const plain = Math.min(max, base * 2 ** Math.min(this.failures, 30));
    return Math.round(plain * (JITTER_MIN + JITTER_SPAN * this.random()));
  }

  failed(): void {
    this.failures++;
  }
}
