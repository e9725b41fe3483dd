// Addresses on the loopback interface: the VIPs of healthy services and the node's host address, added
// and removed through rtnetlink (src/native), never by spawning `ip`. Idempotent: adding an address that
// is there, or removing one that is not, is no error (the result says whether anything changed), so the
// agent can re-apply its state after a restart or a reload without knowing what the kernel holds.
// Host prefixes (/32, /128), scope global; IPv6 without duplicate address detection (usable at once, and
// every host carries the same VIP by design).

import { SystemError } from '../errors.js';
import { Rtnetlink } from '../native/rtnl.js';
import { parseIp } from '../netlink/ip.js';

export const LOOPBACK = 'lo';
const ERR_EXISTS = 'EEXIST';
const ERR_ABSENT = 'EADDRNOTAVAIL';

/** What the agent needs from the host: VIPs on and off lo. */
export interface HostAddresses {
  /** Puts `address` on lo; true if it was added, false if it was already there. */
  add(address: string): boolean;
  /** Takes `address` off lo; true if it was removed, false if it was not there. */
  remove(address: string): boolean;
  /** The addresses lo holds now (text form). */
  list(): string[];
}

export interface LoAddressesOptions {
  /** Network namespace to work in (name under /run/netns or a path); default: this process's. */
  netns?: string;
  /** Interface name (default lo). */
  device?: string;
}

/** HostAddresses over rtnetlink. */
export class LoAddresses implements HostAddresses {
  readonly #rtnl: Rtnetlink;
  readonly #ifindex: number;

  constructor(opts: LoAddressesOptions = {}) {
    this.#rtnl = Rtnetlink.open(opts.netns === undefined ? {} : { netns: opts.netns });
    try {
      this.#ifindex = this.#rtnl.link(opts.device ?? LOOPBACK).ifindex;
    } catch (err) {
      this.#rtnl.close();
      throw err;
    }
  }

  add(address: string): boolean {
    const ip = parseIp(address);
    try {
      this.#rtnl.addAddress({ ifindex: this.#ifindex, address, noDad: ip.family === 6 });
      return true;
    } catch (err) {
      if (err instanceof SystemError && err.code === ERR_EXISTS) return false;
      throw err;
    }
  }

  remove(address: string): boolean {
    try {
      this.#rtnl.deleteAddress({ ifindex: this.#ifindex, address });
      return true;
    } catch (err) {
      if (err instanceof SystemError && err.code === ERR_ABSENT) return false;
      throw err;
    }
  }

  list(): string[] {
    return this.#rtnl.addresses({ ifindex: this.#ifindex }).map((a) => a.address);
  }

  close(): void {
    this.#rtnl.close();
  }
}
