// Addresses on the loopback interface: the VIPs of healthy services and the node's host address, added
// and removed through rtnetlink (src/native), never by spawning `ip`. Idempotent: adding an address that
// is there, or removing one that is not, is no error (the result says whether anything changed), so the
// agent can re-apply its state after a restart or a reload without knowing what the kernel holds.
// Host prefixes (/32, /128), scope global; IPv6 without duplicate address detection (usable at once, and
// every host carries the same VIP by design). Many addresses at once (a start with thousands of VIPs) go
// in netlink batches, one batch per turn of the event loop, so the loop is never held for more than one
// batch; an address that fails is named in the error, the others are added regardless.

import { setImmediate as nextTurn } from 'node:timers/promises';
import { AnycastdError, SystemError } from '../errors.js';
import { NETLINK_BATCH_MAX } from '../native/netlink.js';
import { Rtnetlink } from '../native/rtnl.js';
import { parseIp } from '../netlink/ip.js';

export const LOOPBACK = 'lo';
const ERR_EXISTS = 'EEXIST';
const ERR_ABSENT = 'EADDRNOTAVAIL';
/** Failed addresses named one by one in the error of addAll; the rest are counted. */
const FAILURES_NAMED = 10;

/** What the agent needs from the host: VIPs on and off lo. */
export interface HostAddresses {
  /** Puts `address` on lo; true if it was added, false if it was already there. */
  add(address: string): boolean;
  /**
   * Puts every address on lo in one go (a service's VIPs); returns those added (the others were there).
   * An address the kernel refuses is named in the error, thrown after the others were added.
   */
  addMany(addresses: readonly string[]): string[];
  /** addMany for very many (a start's VIPs): one netlink batch per turn of the event loop. */
  addAll(addresses: readonly string[]): Promise<string[]>;
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

  addMany(addresses: readonly string[]): string[] {
    const outcome = { added: [] as string[], failed: [] as Failure[] };
    for (let i = 0; i < addresses.length; i += NETLINK_BATCH_MAX)
      this.#batch(addresses.slice(i, i + NETLINK_BATCH_MAX), outcome);
    return settle(outcome);
  }

  async addAll(addresses: readonly string[]): Promise<string[]> {
    const outcome = { added: [] as string[], failed: [] as Failure[] };
    for (let i = 0; i < addresses.length; i += NETLINK_BATCH_MAX) {
      if (i > 0) await nextTurn(); // the loop's turn between batches: timers, sockets, BGP keepalives
      this.#batch(addresses.slice(i, i + NETLINK_BATCH_MAX), outcome);
    }
    return settle(outcome);
  }

  /** One netlink batch of adds; present addresses are no failure. */
  #batch(batch: readonly string[], out: { added: string[]; failed: Failure[] }): void {
    const specs = batch.map((address) => ({
      ifindex: this.#ifindex,
      address,
      noDad: parseIp(address).family === 6,
    }));
    this.#rtnl.addAddresses(specs).forEach((error, k) => {
      if (error === null) out.added.push(batch[k]!);
      else if (error.code !== ERR_EXISTS) out.failed.push({ address: batch[k]!, error });
    });
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

interface Failure {
  address: string;
  error: SystemError;
}

/** The addresses added, or the error naming those the kernel refused. */
function settle(outcome: { added: string[]; failed: Failure[] }): string[] {
  const { added, failed } = outcome;
  if (failed.length === 1) throw failed[0]!.error;
  if (failed.length > 1) throw addFailures(failed);
  return added;
}

/** One error for many addresses lo refused: the first FAILURES_NAMED by name and errno, the rest counted. */
function addFailures(failed: readonly Failure[]): AnycastdError {
  const named = failed.slice(0, FAILURES_NAMED).map((f) => `${f.address} (${f.error.code})`);
  const more = failed.length > FAILURES_NAMED ? ` and ${failed.length - FAILURES_NAMED} more` : '';
  return new AnycastdError(
    failed[0]!.error.code,
    `${failed.length} addresses not added to ${LOOPBACK}: ${named.join(', ')}${more}; first: ${failed[0]!.error.message}`,
    { cause: failed[0]!.error },
  );
}
