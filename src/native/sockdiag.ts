// sock_diag (NETLINK_SOCK_DIAG, inet_diag): list TCP or UDP sockets by state, e.g. whether a
// service still has its listening socket, with each socket's queues (a listener's accept backlog and its
// limit) and, on request, its struct tcp_info (tcp-info.ts). A local-port filter is sent to the kernel
// as inet_diag bytecode, so a dump of one service's connections does not copy every socket of the host.
// One SockDiag per netlink socket, reusable per poll.

import type { SystemError } from '../errors.js';
import { AF_INET6, afOf, formatIp, type IpFamily, parseIp } from '../netlink/ip.js';
import { attr, fixedHeader, messageType, NLM_F_DUMP, replyAttrs } from '../netlink/nlmsg.js';
import { NETLINK_SOCK_DIAG, type NetlinkOpenOptions, NetlinkSocket } from './netlink.js';
import { NetlinkWatch } from './nlwatch.js';
import { decodeTcpInfo, type TcpInfo } from './tcp-info.js';

/** linux/sock_diag.h, inet_diag.h */
const SOCK_DIAG_BY_FAMILY = 20;
const INET_DIAG_REQ_V2_SIZE = 56;
const INET_DIAG_MSG_SIZE = 72;
/** struct inet_diag_sockid inside the request (sport, dport, src, dst, if, cookie), and "no cookie". */
const ID_OFFSET = 8;
const NO_COOKIE = 0xffffffff;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
/** Request attribute INET_DIAG_REQ_BYTECODE; reply attribute INET_DIAG_INFO (and its idiag_ext bit). */
const INET_DIAG_REQ_BYTECODE = 1;
const INET_DIAG_INFO = 2;
const EXT_INFO = 1 << (INET_DIAG_INFO - 1);
/** inet_diag_bc_op codes, and the size of one op (code u8, yes u8, no u16). */
const INET_DIAG_BC_JMP = 1;
const INET_DIAG_BC_S_GE = 2;
const INET_DIAG_BC_S_LE = 3;
const BC_OP_SIZE = 4;

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
  /** 0 for a connection still in its listener's accept queue (no process has accepted it). */
  inode: number;
  /** A listener: connections waiting in its accept queue; a connection: bytes received, not yet read. */
  rqueue: number;
  /** A listener: the accept queue's limit (the backlog); a connection: bytes not yet acknowledged. */
  wqueue: number;
  /** Retransmissions of the segment at the head of the queue (idiag_retrans). */
  retrans: number;
  /** struct tcp_info, when asked for (`tcpInfo: true`) and the kernel sent it. */
  tcpInfo?: TcpInfo;
}

export interface InetSocketQuery {
  family: IpFamily;
  protocol: 'tcp' | 'udp';
  /** Only these states (default all). */
  states?: TcpState[];
  /** Only sockets bound to this local port (filtered by the kernel). */
  localPort?: number;
  /** Only sockets bound to one of these local ports (filtered by the kernel; with localPort: both). */
  localPorts?: readonly number[];
  /** Ask for each TCP socket's struct tcp_info. */
  tcpInfo?: boolean;
}

/** linux/sock_diag.h SKNLGRP_*: destroy broadcasts per family and protocol. */
const DESTROY_GROUPS: Readonly<Record<IpFamily, Record<'tcp' | 'udp', number>>> = {
  4: { tcp: 1, udp: 2 },
  6: { tcp: 3, udp: 4 },
};

/**
 * Bytecode that keeps sockets whose local port is one of `ports`. Per port: S_GE port, S_LE port, JMP.
 * Both true reach the JMP, whose `no` (u16; the u8 `yes` could not reach far) jumps to the end: accept;
 * either false goes on to the next port's ops, or past the end (reject) after the last. Every op's `yes`
 * is the next op: the kernel's audit walks the program by `yes`.
 */
function localPortFilter(ports: readonly number[]): Buffer {
  const CMP = 2 * BC_OP_SIZE; // a port comparison: the op, then an op whose `no` is the operand
  const BLOCK = 2 * CMP + BC_OP_SIZE;
  const b = Buffer.alloc(ports.length * BLOCK);
  const op = (off: number, code: number, yes: number, no: number) => {
    b.writeUInt8(code, off);
    b.writeUInt8(yes, off + 1);
    b.writeUInt16LE(no, off + 2);
  };
  ports.forEach((port, i) => {
    const ge = i * BLOCK;
    const le = ge + CMP;
    const jmp = le + CMP;
    const last = i === ports.length - 1;
    const miss = (off: number) => (last ? b.length - off + BC_OP_SIZE : ge + BLOCK - off);
    op(ge, INET_DIAG_BC_S_GE, CMP, miss(ge));
    b.writeUInt16LE(port, ge + BC_OP_SIZE + 2);
    op(le, INET_DIAG_BC_S_LE, CMP, miss(le));
    b.writeUInt16LE(port, le + BC_OP_SIZE + 2);
    op(jmp, INET_DIAG_BC_JMP, BC_OP_SIZE, b.length - jmp);
  });
  return b;
}

function decodeSocket(msg: Buffer): InetSocket {
  const m = fixedHeader(msg, INET_DIAG_MSG_SIZE);
  const family: IpFamily = m.readUInt8(0) === AF_INET6 ? 6 : 4;
  const addrLen = family === 4 ? 4 : 16;
  const info = replyAttrs(msg, INET_DIAG_MSG_SIZE).get(INET_DIAG_INFO);
  const tcpInfo = info ? decodeTcpInfo(info) : null;
  return {
    family,
    state: TCP_STATES[m.readUInt8(1)] ?? 'unknown',
    retrans: m.readUInt8(3),
    localPort: m.readUInt16BE(4),
    remotePort: m.readUInt16BE(6),
    localAddress: formatIp(m.subarray(8, 8 + addrLen)),
    remoteAddress: formatIp(m.subarray(24, 24 + addrLen)),
    ifindex: m.readUInt32LE(40),
    rqueue: m.readUInt32LE(56),
    wqueue: m.readUInt32LE(60),
    uid: m.readUInt32LE(64),
    inode: m.readUInt32LE(68),
    ...(tcpInfo ? { tcpInfo } : {}),
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
    if (q.tcpInfo && q.protocol === 'tcp') req.writeUInt8(EXT_INFO, 2);
    const states = q.states
      ? q.states.reduce((mask, s) => mask | (1 << TCP_STATES.indexOf(s)), 0)
      : ALL_STATES;
    req.writeUInt32LE(states >>> 0, 4);
    const ports = [...(q.localPort === undefined ? [] : [q.localPort]), ...(q.localPorts ?? [])];
    if (q.localPorts?.length === 0) return [];
    const attrs = ports.length === 0 ? [] : [attr(INET_DIAG_REQ_BYTECODE, localPortFilter(ports))];
    const sockets = this.#nl
      .request(SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, req, attrs, () => `list IPv${q.family} ${q.protocol} sockets`)
      .map(decodeSocket);
    const keep = new Set(ports);
    return ports.length === 0 ? sockets : sockets.filter((s) => keep.has(s.localPort));
  }

  /**
   * One TCP connection by its 4-tuple (the kernel's hash lookup, no walk of the table), with its
   * tcp_info when asked; null when there is no such connection (ENOENT, or only the port's listener).
   */
  tcpConnection(q: TcpConnectionQuery): InetSocket | null {
    const req = Buffer.alloc(INET_DIAG_REQ_V2_SIZE);
    req.writeUInt8(afOf(q.family), 0);
    req.writeUInt8(IPPROTO_TCP, 1);
    if (q.tcpInfo) req.writeUInt8(EXT_INFO, 2);
    req.writeUInt32LE(ALL_STATES >>> 0, 4);
    req.writeUInt16BE(q.localPort, ID_OFFSET);
    req.writeUInt16BE(q.remotePort, ID_OFFSET + 2);
    parseIp(q.localAddress).bytes.copy(req, ID_OFFSET + 4);
    parseIp(q.remoteAddress).bytes.copy(req, ID_OFFSET + 20);
    req.writeUInt32LE(NO_COOKIE, ID_OFFSET + 40);
    req.writeUInt32LE(NO_COOKIE, ID_OFFSET + 44);
    try {
      const [msg] = this.#nl.request(SOCK_DIAG_BY_FAMILY, 0, req, [], () => `look up a TCP connection`);
      const s = msg ? decodeSocket(msg) : null;
      // The kernel's lookup falls back to the port's listener when no connection matches.
      return s && s.remotePort === q.remotePort && s.localPort === q.localPort ? s : null;
    } catch (err) {
      if ((err as SystemError).code === 'ENOENT') return null;
      throw err;
    }
  }

  close(): void {
    this.#nl.close();
  }
}

/** A TCP connection's 4-tuple, as a dump reports it (local = the socket's own end). */
export interface TcpConnectionQuery {
  family: IpFamily;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  tcpInfo?: boolean;
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
