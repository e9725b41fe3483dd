// Netlink multicast subscriptions: the kernel's change notifications (rtnetlink groups, sock_diag
// destroy broadcasts) delivered on Node's event loop as batches of raw messages. An overrun
// (ENOBUFS: events were lost) goes to `onOverrun`, so the owner can dump and resynchronise.
import type { SystemError } from '../errors.js';
import { native } from './addon.js';
import { callNative, systemError } from './errors.js';
import { withNetns } from './netns.js';

export interface NetlinkWatchOptions {
  /** Subscribe inside this network namespace (name under /run/netns or a path). */
  netns?: string;
  /** Events were lost (or the socket failed); default: ignored. */
  onOverrun?: (err: SystemError) => void;
}

export class NetlinkWatch {
  #id: number;

  private constructor(id: number) {
    this.#id = id;
  }

  /** Joins `groups` of netlink `protocol`; `onMessages` gets each batch of whole messages. */
  static open(
    protocol: number,
    groups: number[],
    onMessages: (messages: Buffer[]) => void,
    opts: NetlinkWatchOptions = {},
  ): NetlinkWatch {
    const what = `watch netlink protocol ${protocol} groups ${groups.join(',')}`;
    const callback = (errno: number, messages: Buffer[]): void => {
      if (messages.length > 0) onMessages(messages);
      if (errno !== 0) opts.onOverrun?.(systemError(errno, 'recv(netlink)', what));
    };
    const open = (): number =>
      callNative(
        () => what,
        () => native().nlWatch(protocol, groups, callback),
      );
    return new NetlinkWatch(opts.netns ? withNetns(opts.netns, open) : open());
  }

  /** Stops delivery and closes the socket. Idempotent. */
  close(): void {
    if (this.#id < 0) return;
    native().nlUnwatch(this.#id);
    this.#id = -1;
  }
}
