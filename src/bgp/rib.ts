// Per-peer routing information bases of the speaker (RFC 4271 §3.2):
// - AdjRibIn: the routes a peer announced that passed import policy, with the stale mark of a
//   graceful-restart helper (RFC 4724 §4.2), plus the set of every prefix the peer currently
//   announces (before policy) for the max-prefix limit. Bounded: it remembers at most `capacity`
//   distinct prefixes (the limit); an announcement of one more is not stored and marks it
//   `overflowed` (the peer is over its limit, and the exact count is no longer known).
// - AdjRibOut: what this speaker last sent to a peer, by a signature of the exported attributes, so
//   that an identical re-advertisement sends nothing and a route refresh (RFC 2918) can resend it all.

import type { PathAttributes } from './codec/attributes/types.js';
import type { Prefix } from './codec/prefix.js';
import { prefixKey } from './codec/prefix.js';

export interface RibInRoute {
  prefix: Prefix;
  attributes: PathAttributes;
  /** Kept from before the peer restarted; removed at its End-of-RIB or when the timer runs out. */
  stale: boolean;
}

export class AdjRibIn {
  private readonly accepted = new Map<string, RibInRoute>();
  /** Every prefix the peer announces now, accepted or not (RFC 4486 counts these), up to `capacity`. */
  private readonly received = new Set<string>();
  /** The most distinct prefixes remembered. */
  capacity = Number.POSITIVE_INFINITY;
  /** A new prefix came while `capacity` were remembered (cleared by recount()). */
  overflowed = false;
  /** AFI of the first prefix that did not fit. */
  overflowAfi: number | undefined;

  get receivedCount(): number {
    return this.received.size;
  }

  get acceptedCount(): number {
    return this.accepted.size;
  }

  /**
   * Record an announcement; `accepted` says whether import policy let it in. A new prefix beyond
   * `capacity` is not stored (overflowed). True if the accepted set changed.
   */
  announce(prefix: Prefix, attributes: PathAttributes, accepted: boolean): boolean {
    const key = prefixKey(prefix);
    if (!this.received.has(key)) {
      if (this.received.size >= this.capacity) {
        if (!this.overflowed) this.overflowAfi = prefix.afi;
        this.overflowed = true;
        return false;
      }
      this.received.add(key);
    }
    if (!accepted) return this.accepted.delete(key);
    this.accepted.set(key, { prefix, attributes, stale: false });
    return true;
  }

  /**
   * Start counting afresh (the peer is about to resend its table, RFC 2918): forget which rejected
   * prefixes it announced and the overflow; the accepted routes stay, and count again.
   */
  recount(): void {
    this.received.clear();
    for (const key of this.accepted.keys()) this.received.add(key);
    this.overflowed = false;
  }

  /** Record a withdrawal; true if an accepted route went away. */
  withdraw(prefix: Prefix): boolean {
    const key = prefixKey(prefix);
    this.received.delete(key);
    return this.accepted.delete(key);
  }

  get(prefix: Prefix): RibInRoute | undefined {
    return this.accepted.get(prefixKey(prefix));
  }

  routes(): RibInRoute[] {
    return [...this.accepted.values()];
  }

  /** Graceful restart: mark every route (of one family, or all) stale. Returns how many. */
  markStale(afi?: number): number {
    let n = 0;
    for (const r of this.accepted.values()) {
      if (afi !== undefined && r.prefix.afi !== afi) continue;
      r.stale = true;
      n++;
    }
    return n;
  }

  /** Remove the stale routes (of one family, or all); returns the prefixes removed. */
  sweepStale(afi?: number): Prefix[] {
    const gone: Prefix[] = [];
    for (const [key, r] of this.accepted) {
      if (!r.stale || (afi !== undefined && r.prefix.afi !== afi)) continue;
      this.accepted.delete(key);
      this.received.delete(key);
      gone.push(r.prefix);
    }
    return gone;
  }

  hasStale(): boolean {
    for (const r of this.accepted.values()) if (r.stale) return true;
    return false;
  }

  /** Forget everything (session down without graceful restart); returns the accepted prefixes. */
  clear(): Prefix[] {
    const gone = [...this.accepted.values()].map((r) => r.prefix);
    this.accepted.clear();
    this.received.clear();
    this.overflowed = false;
    return gone;
  }
}

export interface RibOutRoute<A> {
  prefix: Prefix;
  attributes: A;
}

export class AdjRibOut<A> {
  private readonly sent = new Map<string, RibOutRoute<A> & { signature: string }>();

  constructor(private readonly signatureOf: (a: A) => string) {}

  get size(): number {
    return this.sent.size;
  }

  /** Would advertising this change what the peer has? Records it if so. */
  advertise(prefix: Prefix, attributes: A): boolean {
    const key = prefixKey(prefix);
    const signature = this.signatureOf(attributes);
    if (this.sent.get(key)?.signature === signature) return false;
    this.sent.set(key, { prefix, attributes, signature });
    return true;
  }

  /** Was it advertised? Forgets it if so. */
  withdraw(prefix: Prefix): boolean {
    return this.sent.delete(prefixKey(prefix));
  }

  has(prefix: Prefix): boolean {
    return this.sent.has(prefixKey(prefix));
  }

  routes(): RibOutRoute<A>[] {
    return [...this.sent.values()].map(({ prefix, attributes }) => ({ prefix, attributes }));
  }

  clear(): void {
    this.sent.clear();
  }
}
