// A UDP socket that sends with a chosen TTL / hop limit and reports the one each datagram arrived
// with (native/src/udp.cc: IP_TTL + IP_RECVTTL, IPV6_UNICAST_HOPS + IPV6_RECVHOPLIMIT) — Node's
// dgram can do neither. Single-hop BFD (RFC 5881 §5) needs both: sent with 255, received with less is
// dropped. Optionally marked with a traffic class. Bound to one local address and port (never a wildcard); a link-local address takes its
// interface as scope, and the socket is then bound to that interface. Datagrams arrive on Node's event
// loop in batches of at most 64 per wake-up, each at most 512 bytes (longer ones are cut and flagged).
import type { SystemError } from '../errors.js';
import { afOf, type IpFamily } from '../netlink/ip.js';
import { native, type RawUdpPacket } from './addon.js';
import { callNative, errnoName, systemError } from './errors.js';
import { withNetns } from './netns.js';
import { checkAddress, MAX_TTL } from './sockopt.js';

export type UdpPacket = RawUdpPacket;

export interface UdpSocketOptions {
  family: IpFamily;
  /** Local address to bind (a link-local one needs `ifindex`). */
  address: string;
  /** Local port (0: the kernel picks). */
  port: number;
  /** Scope of a link-local address, and SO_BINDTOIFINDEX; 0 or none: not bound to an interface. */
  ifindex?: number;
  /** TTL / hop limit of sent datagrams (default 255). */
  ttl?: number;
  /** Traffic class byte of sent datagrams (IP_TOS / IPV6_TCLASS, with SO_PRIORITY 6); default: left 0. */
  tos?: number;
  /** Make the socket inside this network namespace (name under /run/netns or a path). */
  netns?: string;
  /** Received datagrams, one batch per wake-up. */
  onPackets?: (packets: UdpPacket[]) => void;
  /** The socket failed while receiving; default: ignored. */
  onError?: (err: SystemError) => void;
}

export class UdpSocket {
  readonly family: IpFamily;
  readonly address: string;
  readonly ifindex: number;
  #id: number;

  private constructor(opts: UdpSocketOptions, id: number) {
    this.family = opts.family;
    this.address = opts.address;
    this.ifindex = opts.ifindex ?? 0;
    this.#id = id;
  }

  /** Opens and binds the socket; throws a SystemError (EADDRINUSE, EADDRNOTAVAIL, …) naming the address. */
  static open(opts: UdpSocketOptions): UdpSocket {
    checkAddress(opts.family, opts.address, 'UDP local address');
    const where = `${opts.address}${opts.ifindex ? `%${opts.ifindex}` : ''} port ${opts.port}`;
    const callback = (errno: number, packets: RawUdpPacket[]): void => {
      if (packets.length > 0) opts.onPackets?.(packets);
      if (errno !== 0) opts.onError?.(systemError(errno, 'recvmsg(udp)', `receive on ${where}`));
    };
    const open = (): number =>
      callNative(
        () => `open UDP socket on ${where}${opts.netns ? ` in ${opts.netns}` : ''}`,
        () =>
          native().udpOpen(
            afOf(opts.family),
            opts.address,
            opts.port,
            opts.ifindex ?? 0,
            opts.ttl ?? MAX_TTL,
            callback,
            opts.tos ?? 0,
          ),
      );
    return new UdpSocket(opts, opts.netns ? withNetns(opts.netns, open) : open());
  }

  /** Sends one datagram; returns null when sent, else the errno name of the failed send (ENETUNREACH, …). */
  send(address: string, port: number, data: Buffer): string | null {
    if (this.#id < 0) return 'EBADF';
    const errno = native().udpSend(this.#id, address, port, data);
    return errno === 0 ? null : errnoName(errno);
  }

  /** The bound local port. */
  localPort(): number {
    const id = this.#id;
    return callNative(
      () => `read the local port of ${this.address}`,
      () => native().udpLocalPort(id),
    );
  }

  get closed(): boolean {
    return this.#id < 0;
  }

  /** Stops delivery and closes the socket. Idempotent. */
  /** Reads what is queued now and hands it to `onPackets` before returning (as a wake-up would). */
  readNow(): void {
    if (this.#id >= 0) native().udpReadNow(this.#id);
  }

  close(): void {
    if (this.#id < 0) return;
    native().udpClose(this.#id);
    this.#id = -1;
  }
}
