// sock_diag (NETLINK_SOCK_DIAG, inet_diag): list TCP or UDP sockets by state, e.g. whether a
// service still has its listening socket. One SockDiag per netlink socket, reusable per poll.

import type { SystemError } from '../errors.js';
import { AF_INET6, afOf, formatIp, type IpFamily } from '../netlink/ip.js';
import { fixedHeader, messageType, NLM_F_DUMP } from '../netlink/nlmsg.js';
import { NETLINK_SOCK_DIAG, type NetlinkOpenOptions, NetlinkSocket } from './netlink.js';
import { NetlinkWatch } from './nlwatch.js';

/** linux/sock_diag.h, inet_diag.h */
const SOCK_DIAG_BY_FAMILY = 20;
const INET_DIAG_REQ_V2_SIZE = 56;
const INET_DIAG_MSG_SIZE = 72;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/** TCP states (include/net/tcp_states.h), by number. */
const TCP_STATES = [
  'unknown',
  'established',
  'syn-sent',
  'syn-recv',
  'fin-wait1',
  'fin-wait2',
  'time-wait',
  'close',
  'close-wait',
  'last-ack',
  'listen',
  'closing',
  'new-syn-recv',
] as const;
export type TcpState = Exclude<(typeof TCP_STATES)[number], 'unknown'>;
/** Every state (the states bitmask for "all"). */
const ALL_STATES = 0xffffffff;

export interface InetSocket {
  family: IpFamily;
  /** TCP state name; UDP sockets report 'close' (unconnected) or 'established' (connected). */
  state: TcpState | 'unknown';
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Bound device, 0 when none. */
  ifindex: number;
  uid: number;
  inode: number;
}

export interface InetSocketQuery {
  family: IpFamily;
  protocol: 'tcp' | 'udp';
  /** Only these states (default all). */
  states?: TcpState[];
  /** Only sockets bound to this local port. */
  localPort?: number;
}

/** linux/sock_diag.h SKNLGRP_*: destroy broadcasts per family and protocol. */
const DESTROY_GROUPS: Readonly<Record<IpFamily, Record<'tcp' | 'udp', number>>> = {
  4: { tcp: 1, udp: 2 },
  6: { tcp: 3, udp: 4 },
};

function decodeSocket(msg: Buffer): InetSocket {
  const m = fixedHeader(msg, INET_DIAG_MSG_SIZE);
  const family: IpFamily = m.readUInt8(0) === AF_INET6 ? 6 : 4;
  const addrLen = family === 4 ? 4 : 16;
  return {
    family,
    state: TCP_STATES[m.readUInt8(1)] ?? 'unknown',
    localPort: m.readUInt16BE(4),
    remotePort: m.readUInt16BE(6),
    localAddress: formatIp(m.subarray(8, 8 + addrLen)),
    remoteAddress: formatIp(m.subarray(24, 24 + addrLen)),
    ifindex: m.readUInt32LE(40),
    uid: m.readUInt32LE(64),
    inode: m.readUInt32LE(68),
  };
}

export class SockDiag {
  readonly #nl: NetlinkSocket;

  private constructor(nl: NetlinkSocket) {
    this.#nl = nl;
  }

  /** Opens a sock_diag socket (optionally inside a network namespace: it sees that one's sockets). */
  static open(opts: NetlinkOpenOptions = {}): SockDiag {
    return new SockDiag(NetlinkSocket.open(NETLINK_SOCK_DIAG, opts));
  }

  /** Sockets of one family and protocol, optionally by state and local port. */
  inetSockets(q: InetSocketQuery): InetSocket[] {
    const req = Buffer.alloc(INET_DIAG_REQ_V2_SIZE);
    req.writeUInt8(afOf(q.family), 0);
    req.writeUInt8(q.protocol === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP, 1);
    const states = q.states
      ? q.states.reduce((mask, s) => mask | (1 << TCP_STATES.indexOf(s)), 0)
      : ALL_STATES;
    req.writeUInt32LE(states >>> 0, 4);
    const sockets = this.#nl
      .request(SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, req, [], () => `list IPv${q.family} ${q.protocol} sockets`)
      .map(decodeSocket);
    return q.localPort === undefined ? sockets : sockets.filter((s) => s.localPort === q.localPort);
  }

  close(): void {
    this.#nl.close();
  }
}

export interface DestroyWatchOptions {
  families?: IpFamily[];
  protocols?: ('tcp' | 'udp')[];
  /** Watch sockets of this network namespace. */
  netns?: string;
  /** Broadcasts were lost (the socket buffer overran): list sockets again. */
  onOverrun?: (err: SystemError) => void;
}

/**
 * Calls `handler` with each socket the kernel destroys (sock_diag destroy broadcast, needs
 * CAP_NET_ADMIN), e.g. a service's listener going away when its process dies, without polling.
 * The reported state is then 'close'; a listener is the one with remotePort 0.
 */
export function watchSocketDestroy(
  opts: DestroyWatchOptions,
  handler: (socket: InetSocket) => void,
): NetlinkWatch {
  const families = opts.families ?? [4, 6];
  const protocols = opts.protocols ?? ['tcp'];
  const groups = families.flatMap((f) => protocols.map((p) => DESTROY_GROUPS[f][p]));
  return NetlinkWatch.open(
    NETLINK_SOCK_DIAG,
    groups,
    (messages) => {
      for (const msg of messages) if (messageType(msg) === SOCK_DIAG_BY_FAMILY) handler(decodeSocket(msg));
    },
    {
      ...(opts.netns ? { netns: opts.netns } : {}),
      ...(opts.onOverrun ? { onOverrun: opts.onOverrun } : {}),
    },
  );
}
