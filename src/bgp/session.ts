// One BGP session on TCP: the FSM (fsm.ts) and the codec wired onto a net.Socket. Active opens go
// through an injectable `connect` (the native addon's MD5/GTSM socket in production, plain
// net.connect by default); passive opens arrive through `accept()` from the speaker's listener.
// A second connection from the peer (RFC 4271 §6.8): an inbound connection that the FSM cannot take
// at once is held (at most MAX_HELD_CONNECTIONS, each for COLLISION_OPEN_WAIT_MS) until its first
// message; only an OPEN can make it the session's, and fsm/collision.ts decides against the right pair:
// a connection of ours that never carried the peer's OPEN (silent, stalled) never keeps out one that
// did. Codes: Cease 6/7 only where two connections with the peer's OPEN collided; a held connection
// over the bound, or a stalled one replaced, gets Cease 6/5 (RFC 4486 Connection Rejected); one whose
// first message is not an OPEN gets FSM Error 5/0 (RFC 6608: no OPEN was exchanged on it); one silent
// for the whole wait gets Hold Timer Expired (4/0). An Established peer that advertised graceful
// restart and opens anew has restarted (RFC 4724 §4.2): the old session ends without a NOTIFICATION.
// RFC 7606 outcomes of received UPDATEs are counted per action and reason (an UPDATE error that ends
// the session as 'session-reset', the others as the codec applied them), and messages by type in
// each direction (the session's connection only: a rejected colliding one is not the session's).
// Every entry point (socket data, close and error, timers, the outcome of a connect) is guarded: an
// exception in it, ours or a handler's, ends the session with a Cease and is reported (`onError`),
// never the process.

import type net from 'node:net';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import type { AttrContext } from './codec/attributes/types.js';
import { type AfiSafi, findCapability } from './codec/capabilities.js';
import { CeaseSubcode, ErrorCode, FsmSubcode } from './codec/constants.js';
import { BgpCodecError, type Rfc7606Action } from './codec/errors.js';
import { encodeKeepalive } from './codec/keepalive.js';
import { type BgpMessage, decodeMessage } from './codec/message.js';
import { encodeNotification, type NotificationMessage, shutdownData } from './codec/notification.js';
import { encodeOpen, type OpenMessage } from './codec/open.js';
import { encodeRouteRefresh } from './codec/route-refresh.js';
import { type DecodedUpdate, encodeUpdate, type UpdateMessage } from './codec/update.js';
import { type OwnConnection, resolveHeld } from './fsm/collision.js';
import { Fsm, type FsmAction, type FsmEvent, type FsmState, type Negotiated } from './fsm.js';
import { Connection, codecErrorEvent, linger, messageEvent, tcpConnect } from './session-io.js';
import { buildOpen, commonFamilies, extendedNextHopAgreed, type OpenOptions } from './session-open.js';

export { BGP_PORT } from './session-io.js';

/** Cease without a subcode (RFC 4486 names none for a failure of our own). */
const CEASE_UNSPECIFIC = 0;
/** How long a held inbound connection may take to send its OPEN. */
export const COLLISION_OPEN_WAIT_MS = 10_000;
/** Inbound connections of one peer held at once (a storm beyond it gets Cease 6/5 at once). */
export const MAX_HELD_CONNECTIONS = 4;
/** How long a held connection with the peer's OPEN waits for our own attempt, §6.8's survivor, to hear the peer. */
export const DEFERRED_WAIT_MS = 5_000;

export interface SessionOptions extends OpenOptions {
  peerAddress: string;
  port?: number;
  localAddress?: string;
  /** Treat routes whose AS_PATH does not start with the eBGP peer's AS as withdrawn (default true). */
  enforceFirstAs?: boolean;
  /** Make the outgoing connection (default: net.connect). */
  connect?: (o: SessionOptions) => Promise<net.Socket>;
  /** The agent's clock (src/clock.ts): the FSM's timers, the collision wait, the linger of a dropped connection. */
  clock?: Clock;
  random?: () => number;
}

export interface SessionHandlers {
  onState?(from: FsmState, to: FsmState, reason: string): void;
  onUp?(n: Negotiated): void;
  onDown?(reason: string): void;
  /** A received UPDATE (RFC 7606 treat-as-withdraw already flagged in it). */
  onUpdate?(u: DecodedUpdate): void;
  onRouteRefresh?(afi: number, safi: number): void;
  onNotification?(direction: 'sent' | 'received', n: NotificationMessage): void;
  /** An exception in one of the session's handlers (`where`); the session was reset for it. */
  onError?(where: string, err: unknown): void;
}

export interface SessionCounters {
  messagesIn: number;
  messagesOut: number;
  updatesIn: number;
  updatesOut: number;
  /** Messages of the session's connection by type, as sent and as received (decoded). */
  sentByType: Record<BgpMessage['type'], number>;
  receivedByType: Record<BgpMessage['type'], number>;
  /** RFC 7606 outcomes by "action:reason". */
  rfc7606: Map<string, number>;
  /** Exceptions caught in the session's handlers (each one reset the session). */
  handlerErrors: number;
}

/** Every message type at 0. */
export function messageTypeCounts(): Record<BgpMessage['type'], number> {
  return { open: 0, update: 0, notification: 0, keepalive: 0, 'route-refresh': 0 };
}

export class BgpSession {
  private fsm: Fsm;
  private conn: Connection | undefined;
  /** Inbound connections waiting for their first message, with their open-wait timers. */
  private readonly held = new Map<Connection, TimerHandle>();
  /** Started and not administratively stopped. */
  private running = false;
  /** A held inbound connection whose OPEN came while our own attempt, which §6.8 prefers, had not heard the peer. */
  private deferred: { c: Connection; open: OpenMessage; timer: TimerHandle } | undefined;
  families: AfiSafi[] = [];
  extendedNextHop = false;
  readonly counters: SessionCounters = {
    messagesIn: 0,
    messagesOut: 0,
    updatesIn: 0,
    updatesOut: 0,
    sentByType: messageTypeCounts(),
    receivedByType: messageTypeCounts(),
    rfc7606: new Map(),
    handlerErrors: 0,
  };

  private readonly clock: Clock;

  constructor(
    readonly options: SessionOptions,
    private readonly handlers: SessionHandlers = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.fsm = this.newFsm();
  }

  get state(): FsmState {
    return this.fsm.state;
  }

  get negotiated(): Negotiated | undefined {
    return this.fsm.negotiated;
  }

  /** The codec context of this session (4-octet AS negotiated? eBGP?). */
  get attrContext(): AttrContext {
    const n = this.fsm.negotiated;
    const ebgp = (n?.peerAs ?? this.options.peerAs) !== this.options.localAs;
    const enforce = ebgp && (this.options.enforceFirstAs ?? true);
    return { as4: n?.as4 ?? false, ebgp, peerAs: enforce ? n?.peerAs : undefined };
  }

  start(): void {
    this.running = true;
    this.fsm.handle({ type: 'manual-start' });
  }

  /** Administrative shutdown with an optional RFC 9003 message; no automatic restart. */
  stop(message?: string): void {
    this.running = false;
    this.fsm.handle({ type: 'manual-stop', data: message ? shutdownData(message) : undefined });
    this.fsm.dispose(); // no idle-hold restart timer may survive an administrative stop
    this.closeHeld();
  }

  /** Close every held and deferred connection (the session stops or failed). */
  private closeHeld(): void {
    for (const c of [...this.held.keys()]) {
      this.release(c);
      c.close();
    }
    const d = this.takeDeferred();
    d?.c.close();
  }

  /** Stop holding `c`; true if it was held. */
  private release(c: Connection): boolean {
    const timer = this.held.get(c);
    if (timer === undefined) return false;
    this.clock.clearTimeout(timer);
    this.held.delete(c);
    return true;
  }

  private takeDeferred(): { c: Connection; open: OpenMessage } | undefined {
    const d = this.deferred;
    this.deferred = undefined;
    if (d) this.clock.clearTimeout(d.timer);
    return d;
  }

  /** Close a connection that is not the session's with this NOTIFICATION. */
  private refuse(c: Connection, subcode: number, code: number = ErrorCode.CEASE): void {
    const socket = c.socket;
    c.socket = undefined;
    if (socket) this.reject(socket, subcode, code);
  }

  /**
   * Leave for a restart (RFC 4724): close the connection without a NOTIFICATION, so a peer that
   * negotiated graceful restart keeps our routes for our restart time; no restart here, no FSM events.
   */
  abandon(): void {
    this.running = false;
    this.fsm.dispose();
    const socket = this.conn?.socket;
    this.conn = undefined;
    socket?.end();
    socket?.destroySoon();
    this.closeHeld();
  }

  /** Graceful restart was negotiated on the session now up (both sides sent the capability). */
  get gracefulRestartNegotiated(): boolean {
    const n = this.fsm.negotiated;
    return (
      this.fsm.state === 'established' &&
      this.options.gracefulRestart !== undefined &&
      n !== undefined &&
      findCapability(n.peerOpen.capabilities, 'graceful-restart') !== undefined
    );
  }

  /** Local address of the current connection (the NEXT_HOP this speaker exports), if connected. */
  get localAddress(): string | undefined {
    return this.conn?.socket?.localAddress;
  }

  /** End the session with a Cease NOTIFICATION of this subcode (RFC 4486); it restarts by itself. */
  reset(subcode: number, data?: Buffer): void {
    this.fsm.handle({ type: 'automatic-stop', subcode, data });
  }

  /**
   * Ask the peer to send its whole Adj-RIB-Out again (RFC 2918), for every negotiated family; false
   * when the session is not up or the peer did not offer the route refresh capability.
   */
  requestRefresh(): boolean {
    const n = this.fsm.negotiated;
    const c = this.conn;
    if (this.fsm.state !== 'established' || !c?.socket || !n) return false;
    if (!findCapability(n.peerOpen.capabilities, 'route-refresh')) return false;
    for (const f of this.families) this.write(c, 'route-refresh', encodeRouteRefresh(f));
    return true;
  }

  /** Run an entry point of the session; an exception in it resets the session instead of escaping. */
  private guard(where: string, f: () => void): void {
    try {
      f();
    } catch (err) {
      this.counters.handlerErrors++;
      try {
        this.handlers.onError?.(where, err);
        this.fsm.handle({ type: 'automatic-stop', subcode: CEASE_UNSPECIFIC });
      } catch {
        // the reset itself failed: drop the connections, the idle-hold restart (if armed) begins again
        this.conn?.close();
        this.conn = undefined;
        this.closeHeld();
      }
    }
  }

  /**
   * The peer's address became known (an unnumbered peer's link-local address, RFC 8950): from now
   * on the session also connects actively — at the next connect-retry (Active) or restart (Idle);
   * a session that is up or connecting is left alone.
   */
  learnPeerAddress(address: string): void {
    this.options.peerAddress = address;
    this.options.passive = false;
  }

  /** Hand over an inbound connection from this peer (the speaker's listener matched the address). */
  accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    if (!this.running) {
      socket.destroy(); // administratively stopped: refuse (§8.2.2 Idle)
      return;
    }
    if (this.fsm.state === 'active' && !this.conn?.socket) {
      this.conn = this.attach(new Connection('inbound', this.clock), socket);
      this.fsm.handle({ type: 'tcp-connection-confirmed' });
      return;
    }
    if (this.held.size + (this.deferred ? 1 : 0) >= MAX_HELD_CONNECTIONS) {
      this.reject(socket, CeaseSubcode.CONNECTION_REJECTED); // RFC 4486: no room, nothing collided
      return;
    }
    // Hold this one until its first message says whether it may become the session's.
    const c = new Connection('inbound', this.clock);
    this.attach(c, socket);
    const timer = this.clock.setTimeout(
      () =>
        this.guard('open-wait-timer', () => {
          if (this.release(c)) this.refuse(c, 0, ErrorCode.HOLD_TIMER_EXPIRED);
        }),
      COLLISION_OPEN_WAIT_MS,
      { unref: true },
    );
    this.held.set(c, timer);
  }

  /**
   * Send an UPDATE (Established only); returns false when the session is not up. `onWritten` runs
   * once the socket has taken the bytes (net.Socket write callback), with an error if it failed.
   */
  send(update: Partial<UpdateMessage>, onWritten?: (err?: Error | null) => void): boolean {
    if (this.fsm.state !== 'established' || !this.conn?.socket) return false;
    this.write(this.conn, 'update', encodeUpdate(update, this.attrContext), onWritten);
    this.counters.updatesOut++;
    this.fsm.handle({ type: 'update-sent' });
    return true;
  }

  private newFsm(): Fsm {
    return new Fsm(this.options, {
      output: (a) => this.act(a),
      clock: {
        setTimeout: (fn, ms) => this.clock.setTimeout(() => this.guard('timer', fn), ms),
        clearTimeout: (h) => this.clock.clearTimeout(h),
      },
      random: this.options.random,
    });
  }

  /** Close a connection that is not (or no longer) the session's with a NOTIFICATION (Cease by default). */
  private reject(
    socket: net.Socket,
    subcode: number,
    code: number = ErrorCode.CEASE,
    data: Buffer = Buffer.alloc(0),
  ): void {
    const n = { code, subcode, data };
    linger(socket, this.clock, encodeNotification(n));
    this.handlers.onNotification?.('sent', n);
  }

  private write(
    c: Connection,
    type: BgpMessage['type'],
    buf: Buffer,
    onWritten?: (err?: Error | null) => void,
  ): void {
    c.socket?.write(buf, onWritten);
    this.counters.messagesOut++;
    this.counters.sentByType[type]++;
  }

  private attach(c: Connection, socket: net.Socket): Connection {
    c.socket = socket;
    socket.on('data', (chunk: Buffer) => this.guard('receive', () => this.receive(c, chunk)));
    const gone = (): void =>
      this.guard('connection-closed', () => {
        if (this.release(c)) return;
        if (this.deferred?.c === c) this.takeDeferred();
        else if (this.conn === c && c.socket === socket) this.fsm.handle({ type: 'tcp-connection-fails' });
      });
    socket.on('close', gone);
    socket.on('error', gone);
    return c;
  }

  private act(a: FsmAction): void {
    switch (a.type) {
      case 'connect':
        this.connect();
        return;
      case 'drop-connection':
        this.conn?.close();
        this.conn = undefined;
        return;
      case 'send-open':
        if (this.conn) this.write(this.conn, 'open', encodeOpen(buildOpen(this.options)));
        return;
      case 'send-keepalive':
        if (this.conn) this.write(this.conn, 'keepalive', encodeKeepalive());
        return;
      case 'send-notification':
        if (this.conn) this.write(this.conn, 'notification', encodeNotification(a));
        this.handlers.onNotification?.('sent', a);
        return;
      case 'state-change':
        this.handlers.onState?.(a.from, a.to, a.reason);
        if (this.deferred) this.ownProgress(a.to);
        return;
      case 'session-up':
        this.families = commonFamilies(this.options, a.negotiated.peerOpen);
        this.extendedNextHop = extendedNextHopAgreed(this.options, a.negotiated.peerOpen);
        this.handlers.onUp?.(a.negotiated);
        return;
      case 'session-down':
        this.handlers.onDown?.(a.reason);
        return;
      default:
        return; // timer bookkeeping
    }
  }

  private connect(): void {
    if (this.conn?.socket) return; // adopting a connection that is already up
    const c = new Connection('outbound', this.clock);
    this.conn = c;
    const connected = (socket: net.Socket): void => {
      if (this.conn !== c || (this.fsm.state !== 'connect' && this.fsm.state !== 'active')) {
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      this.attach(c, socket);
      this.fsm.handle({ type: 'tcp-cr-acked' });
    };
    const failed = (): void => {
      if (this.conn !== c) return;
      const d = this.takeDeferred();
      if (d?.c.socket)
        this.adopt(d.c, d.open); // ours failed: take the held one
      else this.fsm.handle({ type: 'tcp-connection-fails' });
    };
    (this.options.connect ?? tcpConnect)(this.options).then(
      (socket) => this.guard('connected', () => connected(socket)),
      () => this.guard('connect-failed', failed),
    );
  }

  private receive(c: Connection, chunk: Buffer): void {
    let msgs: Buffer[];
    try {
      msgs = c.framer.push(chunk);
    } catch (e) {
      this.codecFailure(c, e);
      return;
    }
    for (const raw of msgs) {
      const candidate = this.held.has(c);
      if (!candidate && this.conn !== c) return; // dropped meanwhile, or deferred (its OPEN is kept)
      this.counters.messagesIn++;
      let msg: BgpMessage;
      try {
        msg = decodeMessage(raw, this.attrContext, c.framer.maxLength);
      } catch (e) {
        this.codecFailure(c, e);
        return;
      }
      if (candidate) {
        if (!this.firstHeldMessage(c, msg)) return;
        this.counters.receivedByType[msg.type]++; // the adopted connection's OPEN
        continue;
      }
      this.counters.receivedByType[msg.type]++;
      this.fsm.handle(this.eventOf(msg));
      if (msg.type === 'update' && this.fsm.state === 'established') this.handlers.onUpdate?.(msg);
    }
  }

  private codecFailure(c: Connection, e: unknown): void {
    if (!(e instanceof BgpCodecError)) throw e;
    if (this.conn !== c) {
      // A held or stale connection: answer with the error's NOTIFICATION and close it, the session is untouched.
      this.release(c);
      if (c.socket) this.reject(c.socket, e.notifySubcode, e.notifyCode, e.data);
      c.socket = undefined;
      return;
    }
    // RFC 7606 §3: an UPDATE error that takes the session down is counted as such.
    if (e.notifyCode === ErrorCode.UPDATE_MESSAGE) this.count('session-reset', e.reason);
    this.fsm.handle(codecErrorEvent(e));
  }

  /** Side effects of a received message (handlers, counters); returns the FSM event it raises. */
  private eventOf(msg: BgpMessage): FsmEvent {
    if (msg.type === 'notification') this.handlers.onNotification?.('received', msg);
    if (msg.type === 'route-refresh' && this.fsm.state === 'established') {
      this.handlers.onRouteRefresh?.(msg.afi, msg.safi);
    }
    if (msg.type === 'update') {
      this.counters.updatesIn++;
      for (const o of msg.outcomes) this.count(o.action, o.reason);
    }
    return messageEvent(msg);
  }

  private count(action: Rfc7606Action, reason: string): void {
    const key = `${action}:${reason}`;
    this.counters.rfc7606.set(key, (this.counters.rfc7606.get(key) ?? 0) + 1);
  }

  /** The session's own connection, as fsm/collision.ts weighs it. */
  private own(): OwnConnection {
    const n = this.fsm.negotiated;
    return {
      state: this.fsm.state,
      direction: this.conn?.direction,
      connected: this.conn?.socket !== undefined,
      peerRestarts: n ? findCapability(n.peerOpen.capabilities, 'graceful-restart') !== undefined : false,
    };
  }

  /** The first message of a held inbound connection (fsm/collision.ts decides); true if it was adopted. */
  private firstHeldMessage(c: Connection, msg: BgpMessage): boolean {
    this.release(c);
    if (!this.running || msg.type === 'notification') {
      c.close(); // the peer gave this connection up, or we stopped
      return false;
    }
    if (msg.type !== 'open') {
      this.refuse(c, FsmSubcode.UNSPECIFIED, ErrorCode.FSM); // no OPEN was exchanged on it (RFC 6608)
      return false;
    }
    if (this.deferred) {
      this.refuse(c, CeaseSubcode.CONNECTION_COLLISION); // a second OPEN of the peer's: the first one stays
      return false;
    }
    const verdict = resolveHeld(this.own(), this.options.localId, msg.bgpId);
    switch (verdict.action) {
      case 'reject':
        this.refuse(c, CeaseSubcode.CONNECTION_COLLISION);
        return false;
      case 'defer': {
        const timer = this.clock.setTimeout(
          () => this.guard('deferred-wait', () => this.deferredExpired(c)),
          DEFERRED_WAIT_MS,
          { unref: true },
        );
        this.deferred = { c, open: msg, timer };
        return false;
      }
      case 'restart':
        // RFC 4724 §4.2: the old session ends as a lost connection (no NOTIFICATION, routes kept stale).
        this.fsm.handle({ type: 'tcp-connection-fails' });
        break;
      case 'adopt':
        if (verdict.dropOurs === 'collision') this.fsm.handle({ type: 'open-collision-dump' });
        else if (verdict.dropOurs === 'stalled')
          this.fsm.handle({ type: 'automatic-stop', subcode: CeaseSubcode.CONNECTION_REJECTED });
        break;
    }
    this.adopt(c, msg);
    return true;
  }

  /** Our own attempt moved on while a held connection waits for it (§6.8 deferral). */
  private ownProgress(to: FsmState): void {
    if (to === 'open-confirm') {
      // ours heard the peer and is the survivor: the held one lost the collision
      const d = this.takeDeferred();
      if (d) this.refuse(d.c, CeaseSubcode.CONNECTION_COLLISION);
      return;
    }
    if (to !== 'idle' && to !== 'active') return;
    // ours failed: take the held one, once the FSM is done with this event
    const c = this.deferred?.c;
    queueMicrotask(() =>
      this.guard('deferred-adopt', () => {
        if (this.deferred?.c !== c || (this.fsm.state !== 'idle' && this.fsm.state !== 'active')) return;
        const d = this.takeDeferred();
        if (d?.c.socket && this.running) this.adopt(d.c, d.open);
      }),
    );
  }

  /** Our attempt did not hear the peer within DEFERRED_WAIT_MS: it stalled, the held one is taken. */
  private deferredExpired(c: Connection): void {
    if (this.deferred?.c !== c) return;
    const d = this.takeDeferred();
    if (!d?.c.socket || !this.running) return;
    if (this.fsm.state === 'open-confirm' || this.fsm.state === 'established') {
      this.refuse(d.c, CeaseSubcode.CONNECTION_COLLISION);
      return;
    }
    if (this.fsm.state === 'open-sent') this.fsm.handle({ type: 'open-collision-dump' });
    this.adopt(d.c, d.open);
  }

  /** The held inbound connection stays: drop ours, start a fresh FSM on it with the OPEN received. */
  private adopt(c: Connection, open: OpenMessage): void {
    this.conn?.close();
    this.fsm.dispose();
    this.fsm = this.newFsm();
    this.conn = c;
    this.fsm.handle({ type: 'automatic-start' });
    this.fsm.handle({ type: 'tcp-connection-confirmed' });
    this.fsm.handle({ type: 'bgp-open', open });
  }
}
