// One BGP session on TCP: the FSM (fsm.ts) and the codec wired onto a net.Socket. Active opens go
// through an injectable `connect` (the native addon's MD5/GTSM socket in production, plain
// net.connect by default); passive opens arrive through `accept()` from the speaker's listener.
// Connection collisions (RFC 4271 §6.8): an inbound connection while ours is in OpenSent/OpenConfirm
// (or still connecting) is held until its OPEN arrives, then the BGP identifiers decide which one
// stays — if ours is still connecting and would stay, the inbound one waits for it and is taken only if
// ours fails; one that collides with an Established session is closed with Cease / Connection
// Collision Resolution.
// RFC 7606 outcomes of received UPDATEs are counted per action and reason, and messages by type in
// each direction (the session's connection only: a rejected colliding one is not the session's).
// Every entry point (socket data, close and error, timers, the outcome of a connect) is guarded: an
// exception in it, ours or a handler's, ends the session with a Cease and is reported (`onError`),
// never the process.

import type net from 'node:net';
import { type Clock, systemClock } from '../clock.js';
import type { AttrContext } from './codec/attributes/types.js';
import { type AfiSafi, findCapability } from './codec/capabilities.js';
import { CeaseSubcode, ErrorCode } from './codec/constants.js';
import { BgpCodecError } from './codec/errors.js';
import { encodeKeepalive } from './codec/keepalive.js';
import { type BgpMessage, decodeMessage } from './codec/message.js';
import { encodeNotification, type NotificationMessage, shutdownData } from './codec/notification.js';
import { encodeOpen, type OpenMessage } from './codec/open.js';
import { encodeRouteRefresh } from './codec/route-refresh.js';
import { type DecodedUpdate, encodeUpdate, type Rfc7606Outcome, type UpdateMessage } from './codec/update.js';
import { collisionSurvivor } from './fsm/collision.js';
import { Fsm, type FsmAction, type FsmEvent, type FsmState, type Negotiated } from './fsm.js';
import { Connection, codecErrorEvent, linger, messageEvent, tcpConnect } from './session-io.js';
import { buildOpen, commonFamilies, extendedNextHopAgreed, type OpenOptions } from './session-open.js';

export { BGP_PORT } from './session-io.js';

/** Cease without a subcode (RFC 4486 names none for a failure of our own). */
const CEASE_UNSPECIFIC = 0;
/** How long an inbound connection that collides may take to send its OPEN. */
const COLLISION_OPEN_WAIT_MS = 10_000;

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
  private candidate: Connection | undefined;
  /** Started and not administratively stopped. */
  private running = false;
  /** A held inbound connection whose OPEN came while our own attempt, which §6.8 prefers, was connecting. */
  private deferred: { c: Connection; open: OpenMessage } | undefined;
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
    this.candidate?.close();
    this.candidate = undefined;
    this.deferred = undefined;
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
        this.candidate?.close();
        this.candidate = undefined;
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
    if (this.fsm.state === 'established' || this.candidate) {
      this.reject(socket, CeaseSubcode.CONNECTION_COLLISION);
      return;
    }
    if (this.fsm.state === 'active' && !this.conn?.socket) {
      this.conn = this.attach(new Connection('inbound', this.clock), socket);
      this.fsm.handle({ type: 'tcp-connection-confirmed' });
      return;
    }
    // Our own connection is pending or up: hold this one until its OPEN says which one stays.
    const cand = new Connection('inbound', this.clock);
    this.candidate = cand;
    this.attach(cand, socket);
    this.clock.setTimeout(
      () =>
        this.guard('collision-timer', () => {
          if (this.candidate === cand) {
            this.candidate = undefined;
            cand.close();
          }
        }),
      COLLISION_OPEN_WAIT_MS,
      { unref: true },
    );
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
        if (this.candidate === c) this.candidate = undefined;
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
      // Our connection is the one §6.8 keeps: the held inbound one goes.
      const d = this.deferred;
      this.deferred = undefined;
      if (d && this.candidate === d.c) {
        this.candidate = undefined;
        if (d.c.socket) this.reject(d.c.socket, CeaseSubcode.CONNECTION_COLLISION);
      }
    };
    const failed = (): void => {
      if (this.conn !== c) return;
      const d = this.deferred;
      this.deferred = undefined;
      if (d && this.candidate === d.c)
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
      const candidate = this.candidate === c;
      if (!candidate && this.conn !== c) return; // dropped meanwhile
      this.counters.messagesIn++;
      let msg: BgpMessage;
      try {
        msg = decodeMessage(raw, this.attrContext, c.framer.maxLength);
      } catch (e) {
        this.codecFailure(c, e);
        return;
      }
      if (candidate) {
        if (!this.resolveCollision(c, msg)) return;
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
    if (this.candidate === c || this.conn !== c) {
      // A held or stale connection: answer with the error's NOTIFICATION and close it, the session is untouched.
      if (c.socket) this.reject(c.socket, e.notifySubcode, e.notifyCode, e.data);
      if (this.candidate === c) this.candidate = undefined;
      return;
    }
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
      for (const o of msg.outcomes) this.count(o);
    }
    return messageEvent(msg);
  }

  private count(o: Rfc7606Outcome): void {
    const key = `${o.action}:${o.reason}`;
    this.counters.rfc7606.set(key, (this.counters.rfc7606.get(key) ?? 0) + 1);
  }

  /**
   * §6.8 on the first message of a held inbound connection; true if it was adopted. With our own
   * connection up, the BGP identifiers decide; a pending attempt of ours (no OPEN sent yet) gives way.
   */
  private resolveCollision(c: Connection, msg: BgpMessage): boolean {
    this.candidate = undefined;
    if (msg.type !== 'open' || !this.running) {
      if (c.socket) this.reject(c.socket, CeaseSubcode.CONNECTION_COLLISION);
      return false;
    }
    const survivor = collisionSurvivor(this.options.localId, msg.bgpId);
    const existing = this.conn?.socket ? this.conn : undefined;
    if (existing && survivor === existing.direction) {
      if (c.socket) this.reject(c.socket, CeaseSubcode.CONNECTION_COLLISION);
      return false;
    }
    if (!existing && this.conn && survivor === this.conn.direction) {
      // Our attempt is still connecting and is the one §6.8 keeps: hold this one until ours is decided.
      this.candidate = c;
      this.deferred = { c, open: msg };
      return false;
    }
    if (existing) this.fsm.handle({ type: 'open-collision-dump' });
    this.adopt(c, msg);
    return true;
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
