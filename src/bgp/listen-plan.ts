// Where the speaker's passive side listens (never a wildcard): for each configured peer, the local
// address of its session —
// - `local_address` when the config names one (bound with IP_FREEBIND, so even before the host has it;
//   the only way a VIP or the host address on lo is ever listened on);
// - otherwise, for a numbered peer, this host's address on the interface whose connected prefix holds
//   the peer (the longest such prefix; every address of that length). A VIP or a host address on lo is
//   a /32 or /128 and never holds a peer, so neither is chosen. A peer no connected prefix holds (a
//   multihop peer) gets no listener: set `local_address` for it;
// - for an unnumbered peer (RFC 8950), every IPv6 link-local address of its interface, scoped to it.
// The plan is computed again whenever an address or link changes (listen-source.ts), so an address
// that appears later gets its listener then, and one that goes away loses it.

import type { PeerConfig } from '../config/types.js';
import type { IpFamily } from '../netlink/ip.js';
import { parseIp } from '../netlink/ip.js';
import type { InterfaceAddress } from '../netlink/rtnl-codec.js';
import { samePrefixBits } from './policy.js';

const IPV4_BITS = 32;
const IPV6_BITS = 128;
const LINK_LOCAL_RE = /^fe[89ab]/i;

/** One local address to listen on: IPv6 link-local addresses carry their interface as scope. */
export interface ListenAddress {
  family: IpFamily;
  address: string;
  /** ifindex of a link-local address; 0 otherwise. */
  scopeId: number;
}

/** A listening endpoint and the peers whose connections it takes. */
export interface ListenEndpoint extends ListenAddress {
  peers: string[];
}

/** What the plan reads of the host: its interface addresses and interface indexes. */
export interface HostAddresses {
  addresses: readonly InterfaceAddress[];
  ifindexOf(name: string): number | undefined;
}

export function endpointKey(a: ListenAddress): string {
  return a.scopeId !== 0 ? `${a.address}%${a.scopeId}` : a.address;
}

const familyOf = (address: string): IpFamily => (address.includes(':') ? 6 : 4);
const isLinkLocal = (address: string): boolean => LINK_LOCAL_RE.test(address);

/** This host's addresses whose connected prefix holds `peer`, longest prefix only. */
function facingAddresses(peer: string, host: HostAddresses): ListenAddress[] {
  const family = familyOf(peer);
  const hostBits = family === 4 ? IPV4_BITS : IPV6_BITS;
  const peerBytes = parseIp(peer).bytes;
  const holding = host.addresses.filter(
    (a) =>
      a.family === family &&
      a.prefixLength < hostBits &&
      a.address !== peer &&
      !isLinkLocal(a.address) &&
      samePrefixBits(parseIp(a.address).bytes, peerBytes, a.prefixLength),
  );
  const longest = Math.max(...holding.map((a) => a.prefixLength));
  return holding
    .filter((a) => a.prefixLength === longest)
    .map((a) => ({ family, address: a.address, scopeId: 0 }));
}

/** The addresses a peer's connections may arrive on (none: not known yet). */
export function listenAddressesOf(peer: PeerConfig, host: HostAddresses): ListenAddress[] {
  const ifindex = peer.interface !== null ? host.ifindexOf(peer.interface) : undefined;
  if (peer.localAddress !== null) {
    const scoped = isLinkLocal(peer.localAddress);
    if (scoped && ifindex === undefined) return [];
    const scopeId = scoped ? (ifindex ?? 0) : 0;
    return [{ family: familyOf(peer.localAddress), address: peer.localAddress, scopeId }];
  }
  if (peer.address !== null) return facingAddresses(peer.address, host);
  if (ifindex === undefined) return [];
  return host.addresses
    .filter((a) => a.family === 6 && a.ifindex === ifindex && isLinkLocal(a.address))
    .map((a) => ({ family: 6, address: a.address, scopeId: ifindex }));
}

/** Every endpoint the peers need, by endpointKey; `unplaced` lists the peers with none. */
export function listenPlan(
  peers: readonly PeerConfig[],
  host: HostAddresses,
): { endpoints: Map<string, ListenEndpoint>; unplaced: string[] } {
  const endpoints = new Map<string, ListenEndpoint>();
  const unplaced: string[] = [];
  for (const peer of peers) {
    const addrs = listenAddressesOf(peer, host);
    if (addrs.length === 0) unplaced.push(peer.name);
    for (const a of addrs) {
      const key = endpointKey(a);
      const e = endpoints.get(key) ?? { ...a, peers: [] };
      e.peers.push(peer.name);
      endpoints.set(key, e);
    }
  }
  return { endpoints, unplaced };
}
