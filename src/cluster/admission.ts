// Who may hold a connection to the cluster endpoint, decided at accept from the source address alone:
// only the configured hosts' addresses, at most MAX_CONNECTIONS_PER_ADDRESS each and a total derived from
// the host count. Per admitted address it also keeps what the server needs to bound that peer's polls
// (pending long polls, what it was last answered). Keys are configured addresses only, so the table is as
// big as the config at most; prune() drops addresses a reload removed.

import type { ConnectionRefusal } from './counters.js';
import { MAX_CONNECTIONS_PER_ADDRESS } from './limits.js';

/** What the server keeps per admitted address. */
export interface PeerUse {
  connections: number;
  /** Long polls held now. */
  waiters: number;
  /** The token this address was last answered with, and when (the server's clock.now() ms). */
  lastToken: string;
  lastAnsweredAt: number;
}

export interface GateOptions {
  /** Whether `address` is a configured host (the only sources admitted). */
  allowed: (address: string) => boolean;
  /** The cap on all connections (it follows the config). */
  maxTotal: () => number;
}

export class ConnectionGate {
  readonly #o: GateOptions;
  readonly #peers = new Map<string, PeerUse>();
  #open = 0;

  constructor(opts: GateOptions) {
    this.#o = opts;
  }

  get open(): number {
    return this.#open;
  }

  /** Admits a connection from `address` (counted until release), or says why not. */
  admit(address: string): ConnectionRefusal | null {
    if (!this.#o.allowed(address)) return 'not-configured';
    const peer = this.#peers.get(address);
    if ((peer?.connections ?? 0) >= MAX_CONNECTIONS_PER_ADDRESS) return 'address-limit';
    if (this.#open >= this.#o.maxTotal()) return 'total-limit';
    if (peer) peer.connections++;
    else this.#peers.set(address, { connections: 1, waiters: 0, lastToken: '', lastAnsweredAt: 0 });
    this.#open++;
    return null;
  }

  release(address: string): void {
    const peer = this.#peers.get(address);
    if (!peer || peer.connections === 0) return;
    peer.connections--;
    this.#open--;
  }

  /** The use of an admitted address (undefined: none admitted yet). */
  peer(address: string): PeerUse | undefined {
    return this.#peers.get(address);
  }

  /** Forgets addresses no longer allowed that hold nothing. */
  prune(): void {
    for (const [address, peer] of this.#peers)
      if (!this.#o.allowed(address) && peer.connections === 0) this.#peers.delete(address);
  }
}
