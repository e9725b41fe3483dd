// Which received routes may reach the kernel: the checks a route passes after import policy and
// before it is kept in the Adj-RIB-In as usable (each failure is a named reason, counted per peer).
// - family-not-negotiated: NLRI of an AFI/SAFI the session did not negotiate are ignored
//   (RFC 4760 §7, RFC 7606 §7.11 — neither used nor an error that resets the session);
// - nexthop-own-address: a NEXT_HOP that is one of this host's own addresses must not be used
//   (RFC 4271 §5.1.3: "a route ... whose NEXT_HOP is the address of the receiving speaker");
// - nexthop-not-on-link: on a single-hop session (the peer is itself in a connected prefix, or an
//   interface peer), the next hop must be in a connected prefix too (or link-local on the peer's
//   interface) — the kernel refuses anything else (ENETUNREACH "Nexthop has invalid gateway");
// - nexthop-missing: no next hop the kernel could use (e.g. only a link-local one without an interface).
// Pure: the host's addresses come from the caller (the kernel's, read over rtnetlink by the speaker).

import type { IpFamily } from '../netlink/ip.js';
import { formatIp, parseIp } from '../netlink/ip.js';
import type { InterfaceAddress } from '../netlink/rtnl-codec.js';
import type { AfiSafi } from './codec/capabilities.js';
import { Safi } from './codec/constants.js';
import type { Prefix } from './codec/prefix.js';
import { samePrefixBits } from './policy.js';

export const REJECT_REASONS = [
  'family-not-negotiated',
  'nexthop-own-address',
  'nexthop-not-on-link',
  'nexthop-missing',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

const HOST_BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };
const LINK_LOCAL_RE = /^fe[89ab]/i;

export interface KernelNexthop {
  gateway: string;
  /** Needed for a link-local gateway. */
  ifindex?: number;
}

/** What a check knows of the host and the session. */
export interface NexthopContext {
  /** The session's negotiated families (RFC 4760). */
  families: readonly AfiSafi[];
  /** This host's interface addresses (none known: the address checks are skipped). */
  addresses: readonly InterfaceAddress[] | undefined;
  /** Other addresses of this host (session local address, host address, VIPs), any text form. */
  own: readonly string[];
  /** The peer's address, numbered peers only (decides single-hop). */
  peerAddress: string | null;
  /** An interface (unnumbered) peer: single-hop by definition. */
  unnumbered: boolean;
}

function canonical(address: string): string | undefined {
  try {
    return formatIp(parseIp(address).bytes);
  } catch {
    return undefined;
  }
}

const familyOf = (address: string): IpFamily => (address.includes(':') ? 6 : 4);

/** Is `address` inside a connected (non-host) prefix of one of these interface addresses? */
export function onLink(address: string, addresses: readonly InterfaceAddress[]): boolean {
  const family = familyOf(address);
  let bytes: Buffer;
  try {
    bytes = parseIp(address).bytes;
  } catch {
    return false;
  }
  return addresses.some(
    (a) =>
      a.family === family &&
      a.prefixLength < HOST_BITS[family] &&
      !LINK_LOCAL_RE.test(a.address) &&
      samePrefixBits(parseIp(a.address).bytes, bytes, a.prefixLength),
  );
}

/** Was this family negotiated on the session? */
export function negotiated(prefix: Prefix, families: readonly AfiSafi[]): boolean {
  return families.some((f) => f.afi === prefix.afi && f.safi === Safi.UNICAST);
}

/** Why this accepted route's next hop must not go into the kernel, or undefined if it may. */
export function nexthopProblem(
  hop: KernelNexthop | undefined,
  ctx: NexthopContext,
): RejectReason | undefined {
  if (!hop) return 'nexthop-missing';
  const gw = canonical(hop.gateway);
  if (gw === undefined) return 'nexthop-missing';
  const own = new Set(ctx.own.map(canonical));
  for (const a of ctx.addresses ?? []) own.add(canonical(a.address));
  if (own.has(gw)) return 'nexthop-own-address';
  if (!ctx.addresses) return undefined;
  if (LINK_LOCAL_RE.test(gw)) return hop.ifindex !== undefined ? undefined : 'nexthop-missing';
  const singleHop = ctx.unnumbered || (ctx.peerAddress !== null && onLink(ctx.peerAddress, ctx.addresses));
  if (singleHop && !onLink(gw, ctx.addresses)) return 'nexthop-not-on-link';
  return undefined;
}
