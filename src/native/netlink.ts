// A netlink socket (rtnetlink or sock_diag) in this or another network namespace: one request at a
// time, replies collected by the native side, errors as SystemError with the kernel's extended-ack
// text as detail. Message building lives in src/netlink/ (nlmsg.ts and the family codecs).
import { AnycastdError } from '../errors.js';
import { message } from '../netlink/nlmsg.js';
import { native } from './addon.js';
import { callNative } from './errors.js';
import { withNetns } from './netns.js';

/** linux/netlink.h protocols. */
export const NETLINK_ROUTE = 0;
export const NETLINK_SOCK_DIAG = 4;

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

  close(): void {
    if (this.#fd >= 0) native().closeFd(this.#fd);
    this.#fd = -1;
  }
}
