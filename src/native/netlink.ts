// A netlink socket (rtnetlink or sock_diag) in this or another network namespace: one request at a
// time, replies collected by the native side, errors as SystemError with the kernel's extended-ack
// text as detail; or a batch of acked requests in one send, each answered with its own outcome.
// Message building lives in src/netlink/ (nlmsg.ts and the family codecs).
import { AnycastdError, type SystemError } from '../errors.js';
import { message, NLM_F_ACK } from '../netlink/nlmsg.js';
import { native } from './addon.js';
import { callNative, systemError } from './errors.js';
import { withNetns } from './netns.js';

/** linux/netlink.h protocols. */
export const NETLINK_ROUTE = 0;
export const NETLINK_SOCK_DIAG = 4;

/**
 * Requests sent in one batch at most: their acks (each a socket buffer of its own, ~1 KiB of receive
 * buffer) are all queued before the first is read, and must fit the default receive buffer (208 KiB).
 */
export const NETLINK_BATCH_MAX = 128;

/** One request of a batch (always acked). */
export interface BatchRequest {
  type: number;
  flags: number;
  fixed: Buffer;
  attrs: Buffer[];
  /** What the request does, for its error ("add address 192.0.2.1/32 to ifindex 1"). */
  attempt: () => string;
}

export interface NetlinkOpenOptions {
  /** Open the socket inside this network namespace (name under /run/netns or a path). */
  netns?: string;
}

export class NetlinkSocket {
  readonly protocol: number;
  #fd: number;
  #seq = 0;

  private constructor(protocol: number, fd: number) {
    this.protocol = protocol;
    this.#fd = fd;
  }

  static open(protocol: number, opts: NetlinkOpenOptions = {}): NetlinkSocket {
    const open = (): number =>
      callNative(
        () => `open netlink socket (protocol ${protocol})${opts.netns ? ` in ${opts.netns}` : ''}`,
        () => native().nlOpen(protocol),
      );
    return new NetlinkSocket(protocol, opts.netns ? withNetns(opts.netns, open) : open());
  }

  /** Sends one request and returns its reply messages (dumps: all of them). */
  request(type: number, flags: number, fixed: Buffer, attrs: Buffer[], attempt: () => string): Buffer[] {
    if (this.#fd < 0) throw new AnycastdError('ERR_INVALID_ARGUMENT', 'netlink socket is closed');
    this.#seq = (this.#seq + 1) >>> 0;
    const msg = message(type, flags, this.#seq, fixed, attrs);
    const fd = this.#fd;
    return callNative(attempt, () => native().nlRequest(fd, msg));
  }

  /**
   * Sends up to NETLINK_BATCH_MAX acked requests in one send; one outcome per request, in order: null
   * for success, else its SystemError (the request's own errno and extended-ack text).
   */
  batch(requests: readonly BatchRequest[]): (SystemError | null)[] {
    if (this.#fd < 0) throw new AnycastdError('ERR_INVALID_ARGUMENT', 'netlink socket is closed');
    if (requests.length === 0) return [];
    if (requests.length > NETLINK_BATCH_MAX)
      throw new AnycastdError(
        'ERR_INVALID_ARGUMENT',
        `netlink batch of ${requests.length} requests (at most ${NETLINK_BATCH_MAX})`,
      );
    const msgs = requests.map((r) => {
      this.#seq = (this.#seq + 1) >>> 0;
      return message(r.type, r.flags | NLM_F_ACK, this.#seq, r.fixed, r.attrs);
    });
    const fd = this.#fd;
    const acks = callNative(
      () => `netlink batch of ${requests.length} (first: ${requests[0]!.attempt()})`,
      () => native().nlBatch(fd, Buffer.concat(msgs), msgs.length),
    );
    return acks.map(([errno, text], i) =>
      errno === 0 ? null : systemError(errno, 'netlink', requests[i]!.attempt(), text || undefined),
    );
  }

  close(): void {
    if (this.#fd >= 0) native().closeFd(this.#fd);
    this.#fd = -1;
  }
}
