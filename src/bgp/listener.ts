// Passive side of the speaker: one TCP listener per local address a peer's session uses (the plan of
// listen-plan.ts; never a wildcard, so a VIP or the host address is listened on only when a peer's
// `local_address` names it), made by the native addon with IP_FREEBIND (bound even while the address
// is missing) and with the TCP MD5 keys (RFC 2385) of its peers on the listening socket before it
// listens. An accepted connection goes to the session of the peer whose address it comes from, among
// the peers of that listener (IPv4-mapped addresses unwrapped); on a link-local listener of an
// unnumbered peer (RFC 8950), to that peer. GTSM (RFC 5082) is applied per accepted socket, and on the
// listener when every peer of it uses GTSM (then even SYNs with a low TTL never get through).
// Anything else is reset at accept before a byte is read, counted, and logged at most once per source
// address per interval (refusals.ts). No handler here lets an exception out: a failure closes the one
// connection and is logged.

import type net from 'node:net';
import type { Clock } from '../clock.js';
import { TcpSocketFd } from '../native/sockopt.js';
import { listenTcp, type TcpListener } from '../native/tcp.js';
import { type IpFamily, socketAddress } from '../netlink/ip.js';
import type { ListenAddress, ListenEndpoint } from './listen-plan.js';
import { RefusalLog, type RefusalLogOptions } from './refusals.js';

/** A minimum TTL every packet meets (IP_MINTTL takes 1..255; 1 checks nothing). */
const ANY_TTL = 1;
const LINK_LOCAL_RE = /^fe[89ab]/i;

/** What the listener needs to know about a peer to hand it a connection. */
export interface ListenerPeer {
  /** Numbered peer address, or null for unnumbered. */
  address: string | null;
  md5Key?: string;
  /** GTSM on accepted sockets: TTL to send with, minimum TTL accepted. */
  ttl?: number;
  minTtl?: number;
  accept(socket: net.Socket): void;
}

export interface ListenerOptions {
  port: number;
  netns?: string;
  /** Structured events: bgp-listening, bgp-listen-failed, bgp-connection-refused (rate-limited), ... */
  log?: (event: string, fields: Record<string, unknown>) => void;
  refusals?: RefusalLogOptions;
  /** The agent's clock (src/clock.ts; default systemClock): the refusal log's intervals. */
  clock?: Clock;
}

interface Endpoint {
  at: ListenAddress;
  peers: string[];
  listener?: TcpListener;
  /** MD5 keys on the listening socket now, by peer address. */
  keys: Map<string, string>;
  /** The last error opening it (logged once per distinct error). */
  failed?: string;
}

const familyOf = (address: string): IpFamily => (address.includes(':') ? 6 : 4);

export class BgpListener {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly peers = new Map<string, ListenerPeer>();
  readonly refusals: RefusalLog;
  private boundPort: number;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: ListenerOptions) {
    this.boundPort = options.port;
    this.refusals = new RefusalLog(
      (line) => this.log('bgp-connection-refused', { ...line }),
      options.refusals,
      options.clock,
    );
  }

  /** The port bound (with port 0: the one the first listener got, which the others share). */
  get port(): number {
    return this.boundPort;
  }

  /** The addresses listened on now. */
  listening(): ListenAddress[] {
    return [...this.endpoints.values()].filter((e) => e.listener).map((e) => ({ ...e.at }));
  }

  /** True while some endpoint of the plan has no socket (its bind failed; sync again later). */
  get incomplete(): boolean {
    return [...this.endpoints.values()].some((e) => !e.listener);
  }

  /** Register (or replace) a peer under its config name; its MD5 key and GTSM go onto its listeners. */
  setPeer(name: string, peer: ListenerPeer): void {
    this.peers.set(name, peer);
    this.reconfigure(name);
  }

  removePeer(name: string): void {
    if (this.peers.delete(name)) this.reconfigure(name);
  }

  /** Bring the listening sockets to `plan` (open what is missing or failed before, close what is gone). */
  sync(plan: ReadonlyMap<string, ListenEndpoint>): Promise<void> {
    this.queue = this.queue.catch(() => undefined).then(() => this.apply(plan));
    return this.queue;
  }

  private async apply(plan: ReadonlyMap<string, ListenEndpoint>): Promise<void> {
    for (const [key, e] of this.endpoints) {
      if (plan.has(key)) continue;
      this.endpoints.delete(key);
      if (e.listener) {
        e.listener.server.close();
        this.log('bgp-listen-closed', { address: e.at.address, scopeId: e.at.scopeId });
      }
    }
    for (const [key, want] of plan) {
      if (this.closed) return;
      let e = this.endpoints.get(key);
      if (!e) {
        e = {
          at: { family: want.family, address: want.address, scopeId: want.scopeId },
          peers: [],
          keys: new Map(),
        };
        this.endpoints.set(key, e);
      }
      e.peers = [...want.peers];
      if (e.listener) this.configure(e);
      else await this.open(key, e);
    }
  }

  private peersOf(e: Endpoint): ListenerPeer[] {
    return e.peers.map((n) => this.peers.get(n)).filter((p): p is ListenerPeer => p !== undefined);
  }

  /** MD5 keys the endpoint's socket must hold: its numbered peers' of its family. */
  private wantedKeys(e: Endpoint): Map<string, string> {
    const keys = new Map<string, string>();
    for (const p of this.peersOf(e))
      if (p.address !== null && p.md5Key !== undefined && familyOf(p.address) === e.at.family)
        keys.set(p.address, p.md5Key);
    return keys;
  }

  /**
   * GTSM on the listening socket itself: the lowest minimum TTL any of its peers allows, so that
   * when every peer uses GTSM even a SYN with a low TTL is dropped by the kernel. With a peer that
   * does not, the check starts only on the accepted socket (after the handshake).
   */
  private minTtlOf(e: Endpoint): number {
    const peers = this.peersOf(e);
    return peers.length === 0 ? ANY_TTL : Math.min(...peers.map((p) => p.minTtl ?? ANY_TTL));
  }

  private async open(key: string, e: Endpoint): Promise<void> {
    const keys = this.wantedKeys(e);
    const attempt = { address: e.at.address, scopeId: e.at.scopeId, port: this.boundPort };
    try {
      const l = await listenTcp(
        {
          family: e.at.family,
          port: this.boundPort,
          netns: this.options.netns,
          localAddress: e.at.address,
          localScopeId: e.at.scopeId,
          freebind: true,
          minTtl: this.minTtlOf(e),
          md5: [...keys].map(([address, key]) => ({ address, key })),
          onError: (err) => this.log('bgp-listener-error', { ...attempt, error: String(err) }),
        },
        (socket) => this.dispatch(e, socket),
      );
      if (this.closed || this.endpoints.get(key) !== e) {
        l.server.close();
        return;
      }
      e.listener = l;
      e.keys = keys;
      e.failed = undefined;
      if (this.boundPort === 0) this.boundPort = l.port;
      this.log('bgp-listening', { ...attempt, port: l.port, peers: e.peers });
      this.configure(e); // peers changed while it opened
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      if (e.failed !== error) this.log('bgp-listen-failed', { ...attempt, error });
      e.failed = error;
    }
  }

  private reconfigure(name: string): void {
    for (const e of this.endpoints.values()) if (e.peers.includes(name)) this.configure(e);
  }

  /** MD5 keys and the listener's minimum TTL after the endpoint's peers changed. */
  private configure(e: Endpoint): void {
    const sock = e.listener?.socket;
    if (!sock) return;
    try {
      const want = this.wantedKeys(e);
      for (const [address, key] of e.keys) {
        if (want.get(address) === key) continue;
        sock.removeMd5Key(address);
        e.keys.delete(address);
      }
      for (const [address, key] of want) {
        if (e.keys.has(address)) continue;
        sock.setMd5Key({ address, key });
        e.keys.set(address, key);
      }
      const min = this.minTtlOf(e);
      if (sock.getMinTtl() !== min) sock.setMinTtl(min);
    } catch (err) {
      this.log('bgp-listen-options-failed', { address: e.at.address, error: String(err) });
    }
  }

  private find(e: Endpoint, remote: string): ListenerPeer | undefined {
    const peers = this.peersOf(e);
    const numbered = peers.find((p) => p.address === remote);
    if (numbered) return numbered;
    // An unnumbered peer's listener is scoped to its link: whoever is on the link is the peer.
    if (e.at.scopeId === 0 || !LINK_LOCAL_RE.test(remote)) return undefined;
    return peers.find((p) => p.address === null);
  }

  private dispatch(e: Endpoint, socket: net.Socket): void {
    try {
      const remote = socketAddress(socket.remoteAddress);
      const peer = this.find(e, remote);
      if (!peer) {
        socket.resetAndDestroy(); // before a byte is read: RST, no TIME-WAIT kept here
        this.refusals.refuse(remote);
        return;
      }
      socket.on('error', () => {}); // the session attaches its own handlers; nothing may go unhandled meanwhile
      if (peer.ttl !== undefined || peer.minTtl !== undefined) {
        const fd = TcpSocketFd.adopt(socket);
        if (peer.ttl !== undefined) fd.setTtl(peer.ttl);
        if (peer.minTtl !== undefined) fd.setMinTtl(peer.minTtl);
      }
      peer.accept(socket);
    } catch (err) {
      socket.destroy();
      this.log('bgp-accept-failed', { address: e.at.address, error: String(err) });
    }
  }

  /** A log sink that throws must not take a handler down with it. */
  private log(event: string, fields: Record<string, unknown>): void {
    try {
      this.options.log?.(event, fields);
    } catch {
      // nothing more to do: the event is lost, the listener goes on
    }
  }

  close(): void {
    this.closed = true;
    for (const e of this.endpoints.values()) e.listener?.server.close();
    this.endpoints.clear();
    this.refusals.close();
  }
}
