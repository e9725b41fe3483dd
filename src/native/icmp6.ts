// A raw ICMPv6 socket on one interface (native/src/icmp6.cc), for Neighbor Discovery messages the
// kernel does not send for us (RFC 4861 Router Advertisements for unnumbered BGP, RFC 8950). Sends
// with hop limit 255 by default (RFC 4861 §6.1.2: receivers drop ND messages with less), receives
// only the ICMPv6 types asked for (ICMP6_FILTER) on Node's event loop, each with its source address
// and the hop limit it arrived with. Made inside another network namespace with `netns`.
import type { SystemError } from '../errors.js';
import { native, type RawIcmp6Packet } from './addon.js';
import { callNative, systemError } from './errors.js';
import { withNetns } from './netns.js';
import { checkAddress } from './sockopt.js';

/** The hop limit of Neighbor Discovery messages (RFC 4861 §6.1.2, §7.1). */
export const ND_HOP_LIMIT = 255;
/** ff02::1, all nodes on the link. */
export const ALL_NODES = 'ff02::1';

export type Icmp6Packet = RawIcmp6Packet;

export interface Icmp6SocketOptions {
  /** Interface the socket is bound to (and the scope of every destination). */
  ifindex: number;
  /** ICMPv6 message types to receive (default: none). */
  types?: number[];
  /** Hop limit of sent packets (default 255). */
  hopLimit?: number;
  /** Make the socket inside this network namespace (name under /run/netns or a path). */
  netns?: string;
  /** Received messages, one batch per wake-up. */
  onPackets?: (packets: Icmp6Packet[]) => void;
  /** The socket failed while receiving; default: ignored. */
  onError?: (err: SystemError) => void;
}

export class Icmp6Socket {
  readonly ifindex: number;
  #id: number;

  private constructor(ifindex: number, id: number) {
    this.ifindex = ifindex;
    this.#id = id;
  }

  static open(opts: Icmp6SocketOptions): Icmp6Socket {
    const what = `open raw ICMPv6 socket on ifindex ${opts.ifindex}${opts.netns ? ` in ${opts.netns}` : ''}`;
    const callback = (errno: number, packets: RawIcmp6Packet[]): void => {
      if (packets.length > 0) opts.onPackets?.(packets);
      if (errno !== 0)
        opts.onError?.(systemError(errno, 'recvmsg(icmp6)', `receive on ifindex ${opts.ifindex}`));
    };
    const open = (): number =>
      callNative(
        () => what,
        () => native().icmp6Open(opts.ifindex, opts.hopLimit ?? ND_HOP_LIMIT, opts.types ?? [], callback),
      );
    return new Icmp6Socket(opts.ifindex, opts.netns ? withNetns(opts.netns, open) : open());
  }

  /** Sends one ICMPv6 message (checksum left zero: the kernel fills it in) to `destination` on the link. */
  send(destination: string, message: Buffer): void {
    checkAddress(6, destination, 'ICMPv6 destination');
    const id = this.#id;
    callNative(
      () => `send ICMPv6 to ${destination}%${this.ifindex}`,
      () => native().icmp6Send(id, destination, message),
    );
  }

  get closed(): boolean {
    return this.#id < 0;
  }

  /** Stops delivery and closes the socket. Idempotent. */
  close(): void {
    if (this.#id < 0) return;
    native().icmp6Close(this.#id);
    this.#id = -1;
  }
}
