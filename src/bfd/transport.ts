// Single-hop BFD over UDP (RFC 5881): the receiving sockets on port 3784, one per local address of
// the sessions (never a wildcard), and one sending socket per session bound to that address and a
// source port in 49152–65535, the same for the session's life (§4), marked CS6. Both send with TTL /
// hop limit 255, and a packet that arrives with less is dropped (§5, the GTSM rule). Every datagram is hostile:
// it goes through the total codec (codec.ts), the drop reason is counted, and nothing received
// allocates beyond the packet itself. Which session a packet belongs to (demultiplexing, RFC 5880
// §6.3) is the manager's (manager.ts): the transport hands it (packet, source, receiving endpoint).

import type { SystemError } from '../errors.js';
import { UdpSocket } from '../native/udp.js';
import type { IpFamily } from '../netlink/ip.js';
import { type CodecDropReason, type ControlPacket, decodeControl } from './codec.js';

/** RFC 5881 §4: single-hop BFD control packets go to UDP port 3784. */
export const BFD_CONTROL_PORT = 3784;
/** RFC 5881 §4: the source port range. */
export const SOURCE_PORT_MIN = 49152;
export const SOURCE_PORT_MAX = 65535;
/** RFC 5881 §5: sent with, and required on receipt, TTL / hop limit 255. */
export const BFD_TTL = 255;
/**
 * Our packets' traffic class: CS6 (DSCP 48, network control), as FRR's bfdd marks them. RFC 5881
 * names none; CS6 is what a ToR's control-plane policing queues ahead of data.
 */
export const BFD_TOS = 0xc0;
/** Source ports tried before a session gives up on binding one (each a random pick of the range). */
const SOURCE_PORT_TRIES = 32;

/** Why the transport dropped a datagram (before any session saw it). */
export type TransportDropReason = CodecDropReason | 'ttl' | 'truncated';

/** A local address of sessions: where packets are received, and the scope of a link-local one. */
export interface BfdEndpoint {
  family: IpFamily;
  address: string;
  /** Interface of a link-local address (also SO_BINDTOIFINDEX); 0 for a global address. */
  ifindex: number;
}

export function endpointKey(e: BfdEndpoint): string {
  return e.ifindex !== 0 ? `${e.address}%${e.ifindex}` : e.address;
}

export interface TransportEvents {
  /** A packet that passed the codec, with where it came from and the endpoint it reached. */
  onPacket(packet: ControlPacket, from: string, endpoint: BfdEndpoint): void;
  onDrop(reason: TransportDropReason): void;
  onError(err: SystemError, endpoint: BfdEndpoint): void;
}

/** The receiving sockets, opened on first use by a session and closed with the last one. */
export class BfdReceivers {
  readonly #sockets = new Map<string, { socket: UdpSocket; users: number }>();

  constructor(
    private readonly events: TransportEvents,
    private readonly opts: { netns?: string; port?: number } = {},
  ) {}

  /** Receive on `endpoint` (one more user); throws a SystemError when the socket cannot be bound. */
  acquire(endpoint: BfdEndpoint): void {
    const key = endpointKey(endpoint);
    const held = this.#sockets.get(key);
    if (held) {
      held.users++;
      return;
    }
    const socket = UdpSocket.open({
      family: endpoint.family,
      address: endpoint.address,
      port: this.opts.port ?? BFD_CONTROL_PORT,
      ifindex: endpoint.ifindex,
      ttl: BFD_TTL,
      netns: this.opts.netns,
      onPackets: (packets) => {
        for (const p of packets) {
          if (p.truncated) this.events.onDrop('truncated');
          else if (p.ttl !== BFD_TTL) this.events.onDrop('ttl');
          else {
            const r = decodeControl(p.data);
            if (r.ok) this.events.onPacket(r.packet, p.from, endpoint);
            else this.events.onDrop(r.reason);
          }
        }
      },
      onError: (err) => this.events.onError(err, endpoint),
    });
    this.#sockets.set(key, { socket, users: 1 });
  }

  /** One user fewer; the socket closes with the last. */
  release(endpoint: BfdEndpoint): void {
    const key = endpointKey(endpoint);
    const held = this.#sockets.get(key);
    if (!held) return;
    if (--held.users > 0) return;
    held.socket.close();
    this.#sockets.delete(key);
  }

  /** Reads what waits on `endpoint`'s socket now (its packets are handled before this returns). */
  readNow(endpoint: BfdEndpoint): void {
    this.#sockets.get(endpointKey(endpoint))?.socket.readNow();
  }

  /** The receiving port of an endpoint (tests bind port 0). */
  portOf(endpoint: BfdEndpoint): number | undefined {
    return this.#sockets.get(endpointKey(endpoint))?.socket.localPort();
  }

  close(): void {
    for (const { socket } of this.#sockets.values()) socket.close();
    this.#sockets.clear();
  }
}

/**
 * A session's sending socket: bound to its local address and a random free source port of
 * 49152–65535. What arrives on it is not BFD's (the peer sends to 3784) and is read and dropped.
 */
export function openSender(
  endpoint: BfdEndpoint,
  opts: { netns?: string; random?: () => number } = {},
): UdpSocket {
  const random = opts.random ?? Math.random;
  const span = SOURCE_PORT_MAX - SOURCE_PORT_MIN + 1;
  let last: unknown;
  for (let i = 0; i < SOURCE_PORT_TRIES; i++) {
    const port = SOURCE_PORT_MIN + Math.floor(random() * span);
    try {
      return UdpSocket.open({
        family: endpoint.family,
        address: endpoint.address,
        port,
        ifindex: endpoint.ifindex,
        ttl: BFD_TTL,
        tos: BFD_TOS,
        netns: opts.netns,
      });
    } catch (err) {
      last = err;
      if ((err as { code?: string }).code !== 'EADDRINUSE') throw err;
    }
  }
  throw last;
}
