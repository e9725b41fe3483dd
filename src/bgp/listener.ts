// Passive side of the speaker: one TCP listener per address family (port 179, or another for tests),
// made by the native addon so TCP MD5 keys (RFC 2385) of every peer sit on the listening socket
// before any SYN arrives. An accepted connection goes to the session of its peer by remote address
// (IPv4-mapped addresses unwrapped), or for an unnumbered peer (IPv6 link-local, RFC 8950) by the
// interface it came in on (matched through our own link-local address on that interface). GTSM
// (RFC 5082) is applied per accepted socket, and on the listener when every peer of the family uses
// it (then even SYNs with a low TTL never get through). Unknown peers' connections are closed at once.

import type net from 'node:net';
import { type IpFamily, unmappedV4 } from '../native/ip.js';
import { TcpSocketFd } from '../native/sockopt.js';
import { listenTcp, type TcpListener } from '../native/tcp.js';

/** A minimum TTL every packet meets (IP_MINTTL takes 1..255; 1 checks nothing). */
const ANY_TTL = 1;

/** What the listener needs to know about a peer to hand it a connection. */
export interface ListenerPeer {
  /** Numbered peer address, or null for unnumbered. */
  address: string | null;
  /** Our link-local addresses on an unnumbered peer's interface. */
  localLinkLocals?: string[];
  md5Key?: string;
  /** GTSM on accepted sockets: TTL to send with, minimum TTL accepted. */
  ttl?: number;
  minTtl?: number;
  accept(socket: net.Socket): void;
}

export interface ListenerOptions {
  port: number;
  netns?: string;
  families: IpFamily[];
  /** Called for every refused connection (for counters and logs). */
  onRefused?: (remote: string) => void;
}

function plain(address: string | undefined): string {
  return unmappedV4((address ?? '').split('%')[0]!);
}

export class BgpListener {
  private readonly listeners: TcpListener[] = [];
  private readonly peers = new Map<string, ListenerPeer>();

  private constructor(private readonly options: ListenerOptions) {}

  static async open(options: ListenerOptions): Promise<BgpListener> {
    const l = new BgpListener(options);
    try {
      for (const family of options.families) {
        l.listeners.push(
          await listenTcp({ family, port: options.port, netns: options.netns }, (s) => l.dispatch(s)),
        );
      }
    } catch (err) {
      l.close();
      throw err;
    }
    return l;
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return this.listeners[0]?.port ?? this.options.port;
  }

  /** Register (or replace) a peer under its config name; its MD5 key goes onto the listener. */
  add(name: string, peer: ListenerPeer): void {
    this.remove(name);
    this.peers.set(name, peer);
    if (peer.md5Key !== undefined && peer.address !== null) this.setKey(peer.address, peer.md5Key);
    this.applyMinTtl();
  }

  remove(name: string): void {
    const old = this.peers.get(name);
    if (!old) return;
    this.peers.delete(name);
    if (old.md5Key !== undefined && old.address !== null) this.setKey(old.address, '');
    this.applyMinTtl();
  }

  /**
   * GTSM on the listening socket itself: the lowest minimum TTL any peer of the family allows, so
   * that when every peer uses GTSM even a SYN with a low TTL is dropped by the kernel. With a peer
   * that does not, the check starts only on the accepted socket (after the handshake).
   */
  private applyMinTtl(): void {
    for (const l of this.listeners) {
      const family = l.socket.family;
      const peers = [...this.peers.values()].filter(
        (p) => (p.address === null ? 6 : p.address.includes(':') ? 6 : 4) === family,
      );
      const min = peers.length === 0 ? ANY_TTL : Math.min(...peers.map((p) => p.minTtl ?? ANY_TTL));
      if (l.socket.getMinTtl() !== min) l.socket.setMinTtl(min);
    }
  }

  private setKey(address: string, key: string): void {
    const family: IpFamily = address.includes(':') ? 6 : 4;
    for (const l of this.listeners) if (l.socket.family === family) l.socket.setMd5Key({ address, key });
  }

  private find(remote: string, local: string): ListenerPeer | undefined {
    for (const p of this.peers.values()) if (p.address === remote) return p;
    for (const p of this.peers.values())
      if (p.address === null && p.localLinkLocals?.includes(local)) return p;
    return undefined;
  }

  private dispatch(socket: net.Socket): void {
    const remote = plain(socket.remoteAddress);
    const peer = this.find(remote, plain(socket.localAddress));
    if (!peer) {
      this.options.onRefused?.(remote);
      socket.destroy();
      return;
    }
    socket.on('error', () => {}); // the session attaches its own handlers; nothing may go unhandled meanwhile
    try {
      if (peer.ttl !== undefined || peer.minTtl !== undefined) {
        const fd = TcpSocketFd.adopt(socket);
        if (peer.ttl !== undefined) fd.setTtl(peer.ttl);
        if (peer.minTtl !== undefined) fd.setMinTtl(peer.minTtl);
      }
    } catch {
      socket.destroy();
      return;
    }
    peer.accept(socket);
  }

  close(): void {
    for (const l of this.listeners.splice(0)) l.server.close();
  }
}
