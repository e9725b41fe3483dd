// One BFD session in asynchronous mode (RFC 5880 §6.8), the state machine and its two timers on the
// agent's clock: packets go out every max(DesiredMinTxInterval, the peer's RequiredMinRxInterval),
// jittered to 75–100 % (75–90 % with a detect multiplier of 1, §6.8.7); the session goes Down when
// no packet came for the Detection Time = the peer's DetectMult × max(our RequiredMinRxInterval, the
// peer's DesiredMinTxInterval) (§6.8.4). While not Up we send no faster than once a second (§6.8.3);
// a change of our intervals while Up runs a Poll Sequence (P bit until the peer's F bit), with the
// rules of §6.8.3: a larger transmit interval and a smaller receive interval take effect only when the
// sequence ends. A received P bit is answered with an F bit at once. Demand mode and the echo
// function are not implemented (we advertise RequiredMinEchoRxInterval 0). Knows no sockets: it gets
// decoded packets (codec.ts) and hands encoded ones to `send`.

import type { Clock, TimerHandle } from '../clock.js';
import {
  BfdDiag,
  BfdState,
  type BfdStateCode,
  type BfdStateName,
  type ControlPacket,
  diagName,
  encodeControl,
  STATE_NAMES,
} from './codec.js';

/** RFC 5880 §6.8.3: while the session is not Up, transmit no faster than once a second. */
export const SLOW_TX_US = 1_000_000;
const US_PER_MS = 1000;
/** RFC 5880 §6.8.1: the initial bfd.RemoteMinRxInterval. */
const INITIAL_REMOTE_MIN_RX_US = 1;
/** RFC 5880 §6.8.7: jitter to 75..100 % of the interval, 75..90 % with a detect multiplier of 1. */
const JITTER_FLOOR = 0.75;
const JITTER_SPAN = 0.25;
const JITTER_SPAN_MULT_1 = 0.15;

export interface BfdTimers {
  /** Our bfd.DesiredMinTxInterval, microseconds. */
  desiredMinTxUs: number;
  /** Our bfd.RequiredMinRxInterval, microseconds. */
  requiredMinRxUs: number;
  /** Our bfd.DetectMult. */
  detectMult: number;
}

/** Why a packet that reached the session was dropped. */
export type SessionDropReason = 'your-discriminator-zero' | 'admin-down';

export interface SessionEvents {
  /** A state change; `diag` is our bfd.LocalDiag after it (kebab-case). */
  onState?(from: BfdStateName, to: BfdStateName, diag: string): void;
  /** A packet dropped by the session's own checks. */
  onDrop?(reason: SessionDropReason): void;
}

export interface SessionCounters {
  packetsIn: number;
  packetsOut: number;
  /** State changes since the session was made, by new state. */
  transitions: Record<BfdStateName, number>;
  /** Sends the kernel refused (no route, link down), counted, not thrown. */
  sendErrors: number;
}

export interface BfdSessionStatus {
  state: BfdStateName;
  remoteState: BfdStateName;
  localDiag: string;
  remoteDiag: string;
  localDiscriminator: number;
  remoteDiscriminator: number;
  /** Interval we transmit at now, ms (0: not transmitting). */
  txIntervalMs: number;
  /** Detection time now, ms (0: nothing received yet). */
  detectTimeMs: number;
  pollActive: boolean;
  counters: SessionCounters;
}

export interface SessionOptions {
  clock: Clock;
  localDiscriminator: number;
  timers: BfdTimers;
  /** Sends one encoded control packet; returns an errno name when the kernel refused it, else null. */
  send(packet: Buffer): string | null;
  random?: () => number;
  events?: SessionEvents;
  /**
   * Called when the detection time expires, before the session goes Down: reads the packets already
   * waiting (a timer runs before the socket is read in an event-loop turn, so after the loop was held
   * longer than the detection time the timer would otherwise beat packets that did arrive in time).
   */
  readPending?(): void;
}

export class BfdSession {
  readonly localDiscriminator: number;
  #state: BfdStateCode = BfdState.down;
  #remoteState: BfdStateCode = BfdState.down;
  #remoteDiscriminator = 0;
  #localDiag: number = BfdDiag.none;
  #remoteDiag: number = BfdDiag.none;
  #remoteMinRxUs = INITIAL_REMOTE_MIN_RX_US;
  #remoteDesiredMinTxUs = 0;
  #remoteDetectMult = 0;
  /** What we are configured for, and what we advertise (the slow rate while not Up). */
  #timers: BfdTimers;
  #advTxUs: number;
  #advRxUs: number;
  /** The values in force for our transmit rate and for the detection time (§6.8.3 poll rules). */
  #usedTxUs: number;
  #usedRxUs: number;
  #pollActive = false;
  #txTimer: TimerHandle | undefined;
  #detectTimer: TimerHandle | undefined;
  #stopped = false;
  readonly counters: SessionCounters = {
    packetsIn: 0,
    packetsOut: 0,
    transitions: { 'admin-down': 0, down: 0, init: 0, up: 0 },
    sendErrors: 0,
  };
  readonly #opts: SessionOptions;
  readonly #random: () => number;

  constructor(opts: SessionOptions) {
    this.#opts = opts;
    this.#random = opts.random ?? Math.random;
    this.localDiscriminator = opts.localDiscriminator;
    this.#timers = { ...opts.timers };
    this.#advTxUs = Math.max(opts.timers.desiredMinTxUs, SLOW_TX_US);
    this.#advRxUs = opts.timers.requiredMinRxUs;
    this.#usedTxUs = this.#advTxUs;
    this.#usedRxUs = this.#advRxUs;
  }

  get state(): BfdStateName {
    return STATE_NAMES[this.#state]!;
  }

  get up(): boolean {
    return this.#state === BfdState.up;
  }

  /** Starts transmitting (Down, the active role of §6.1). */
  start(): void {
    this.#scheduleTx(0);
  }

  /** Stops both timers for good; no state change is reported. */
  stop(): void {
    this.#stopped = true;
    this.#opts.clock.clearTimeout(this.#txTimer);
    this.#opts.clock.clearTimeout(this.#detectTimer);
  }

  /** AdminDown (RFC 5880 §6.8.16): tells the peer, which must not take its side Down for it. */
  adminDown(): void {
    this.#setState(BfdState.adminDown, BfdDiag.adminDown);
    this.#opts.clock.clearTimeout(this.#detectTimer);
    this.#transmit();
  }

  /** Leaves AdminDown: Down, transmitting again. */
  adminUp(): void {
    if (this.#state !== BfdState.adminDown) return;
    this.#setState(BfdState.down, BfdDiag.none);
  }

  /** New timers (a reload): applied at once while not Up, else through a Poll Sequence (§6.8.3). */
  setTimers(t: BfdTimers): void {
    this.#timers = { ...t };
    this.#advertise();
  }

  /** The packet's source and TTL were checked by the caller (RFC 5881 §5); the rest is §6.8.6. */
  receive(p: ControlPacket): void {
    if (this.#stopped) return;
    if (p.yourDiscriminator === 0 && p.state !== BfdState.down && p.state !== BfdState.adminDown) {
      this.#opts.events?.onDrop?.('your-discriminator-zero');
      return;
    }
    this.counters.packetsIn++;
    this.#remoteDiscriminator = p.myDiscriminator;
    this.#remoteState = p.state;
    this.#remoteDiag = p.diag;
    this.#remoteDetectMult = p.detectMult;
    this.#remoteDesiredMinTxUs = p.desiredMinTxUs;
    const remoteRxChanged = this.#remoteMinRxUs !== p.requiredMinRxUs;
    this.#remoteMinRxUs = p.requiredMinRxUs;
    if (p.final && this.#pollActive) {
      this.#pollActive = false;
      this.#usedTxUs = this.#advTxUs;
      this.#usedRxUs = this.#advRxUs;
    }
    if (this.#state === BfdState.adminDown) {
      this.#opts.events?.onDrop?.('admin-down');
      return;
    }
    this.#armDetect();
    this.#step(p.state);
    if (p.poll) this.#transmit({ final: true });
    else if (remoteRxChanged) this.#scheduleTx(this.#jittered());
  }

  status(): BfdSessionStatus {
    return {
      state: this.state,
      remoteState: STATE_NAMES[this.#remoteState]!,
      localDiag: diagName(this.#localDiag),
      remoteDiag: diagName(this.#remoteDiag),
      localDiscriminator: this.localDiscriminator,
      remoteDiscriminator: this.#remoteDiscriminator,
      txIntervalMs: this.#remoteMinRxUs === 0 ? 0 : this.#txIntervalUs() / US_PER_MS,
      detectTimeMs: this.#remoteDetectMult === 0 ? 0 : this.#detectTimeUs() / US_PER_MS,
      pollActive: this.#pollActive,
      counters: { ...this.counters, transitions: { ...this.counters.transitions } },
    };
  }

  /** RFC 5880 §6.8.6, the state table. */
  #step(remote: BfdStateCode): void {
    const s = this.#state;
    if (remote === BfdState.adminDown) {
      if (s !== BfdState.down) this.#setState(BfdState.down, BfdDiag.neighborDown);
      return;
    }
    if (s === BfdState.down) {
      if (remote === BfdState.down) this.#setState(BfdState.init, BfdDiag.none);
      else if (remote === BfdState.init) this.#setState(BfdState.up, BfdDiag.none);
    } else if (s === BfdState.init) {
      if (remote === BfdState.init || remote === BfdState.up) this.#setState(BfdState.up, BfdDiag.none);
    } else if (remote === BfdState.down) {
      this.#setState(BfdState.down, BfdDiag.neighborDown);
    }
  }

  #setState(to: BfdStateCode, diag: number): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    if (diag !== BfdDiag.none || to === BfdState.up) this.#localDiag = diag;
    this.counters.transitions[STATE_NAMES[to]!]++;
    this.#advertise();
    try {
      this.#opts.events?.onState?.(STATE_NAMES[from]!, STATE_NAMES[to]!, diagName(this.#localDiag));
    } catch {
      // a handler's failure is the handler's; the session goes on
    }
    if (!this.#pollActive) this.#transmit();
  }

  /** What we advertise for our state; a change while Up starts a Poll Sequence (§6.8.3). */
  #advertise(): void {
    const up = this.#state === BfdState.up;
    const tx = up ? this.#timers.desiredMinTxUs : Math.max(this.#timers.desiredMinTxUs, SLOW_TX_US);
    const rx = this.#timers.requiredMinRxUs;
    if (tx === this.#advTxUs && rx === this.#advRxUs) return;
    this.#advTxUs = tx;
    this.#advRxUs = rx;
    if (!up) {
      this.#pollActive = false;
      this.#usedTxUs = tx;
      this.#usedRxUs = rx;
      return;
    }
    // A faster rate and a longer receive interval are safe at once; the others wait for the F bit.
    if (tx < this.#usedTxUs) this.#usedTxUs = tx;
    if (rx > this.#usedRxUs) this.#usedRxUs = rx;
    this.#pollActive = true;
    this.#transmit();
  }

  #txIntervalUs(): number {
    return Math.max(this.#usedTxUs, this.#remoteMinRxUs);
  }

  #detectTimeUs(): number {
    return this.#remoteDetectMult * Math.max(this.#usedRxUs, this.#remoteDesiredMinTxUs);
  }

  #jittered(): number {
    const span = this.#timers.detectMult === 1 ? JITTER_SPAN_MULT_1 : JITTER_SPAN;
    return (this.#txIntervalUs() * (JITTER_FLOOR + this.#random() * span)) / US_PER_MS;
  }

  #armDetect(): void {
    const clock = this.#opts.clock;
    clock.clearTimeout(this.#detectTimer);
    this.#detectTimer = clock.setTimeout(() => this.#detectExpired(), this.#detectTimeUs() / US_PER_MS, {
      unref: true,
    });
  }

  #detectExpired(): void {
    this.#detectTimer = undefined;
    if (this.#stopped) return;
    this.#opts.readPending?.();
    if (this.#detectTimer !== undefined) return; // a waiting packet re-armed detection
    // RFC 5880 §6.8.1: the peer's discriminator is forgotten after a Detection Time of silence.
    this.#remoteDiscriminator = 0;
    this.#remoteState = BfdState.down;
    this.#remoteMinRxUs = INITIAL_REMOTE_MIN_RX_US;
    if (this.#state === BfdState.init || this.#state === BfdState.up)
      this.#setState(BfdState.down, BfdDiag.detectionTimeExpired);
  }

  #scheduleTx(ms: number): void {
    if (this.#stopped) return;
    const clock = this.#opts.clock;
    clock.clearTimeout(this.#txTimer);
    this.#txTimer = clock.setTimeout(
      () => {
        this.#txTimer = undefined;
        this.#transmit();
      },
      ms,
      { unref: true },
    );
  }

  /** Sends one packet now and schedules the next periodic one (§6.8.7). */
  #transmit(flags: { final?: boolean } = {}): void {
    if (this.#stopped) return;
    if (this.#remoteMinRxUs !== 0) {
      const packet = encodeControl({
        diag: this.#localDiag,
        state: this.#state,
        poll: this.#pollActive && !flags.final,
        final: flags.final ?? false,
        detectMult: this.#timers.detectMult,
        myDiscriminator: this.localDiscriminator,
        yourDiscriminator: this.#remoteDiscriminator,
        desiredMinTxUs: this.#advTxUs,
        requiredMinRxUs: this.#advRxUs,
      });
      if (this.#opts.send(packet) === null) this.counters.packetsOut++;
      else this.counters.sendErrors++;
    }
    this.#scheduleTx(this.#jittered());
  }
}
