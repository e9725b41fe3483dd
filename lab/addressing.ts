// The lab's addressing plan: every namespace, link, address and AS number in one place.
// Documentation ranges only (RFC 5737: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24; RFC 3849:
// 2001:db8::/32). Point-to-point links are IPv4 /31 (RFC 3021) and IPv6 /127 (RFC 6164); the IPv6
// address of a link end repeats the digits of its IPv4 last octet (192.0.2.34 ↔ 2001:db8:2::34), which
// keeps the /127 pairing because the last digit (and so the parity) is the same in both notations.
// No link uses the ::0 of its /127 (the subnet-router anycast address of RFC 4291 §2.6.1).
//
//   link            a side (ns/if)    a IPv4 / IPv6             b side (ns/if)  b IPv4 / IPv6
//   client–spine    spine/cl1         192.0.2.2  2001:db8:2::2  client/up1      192.0.2.3  2001:db8:2::3
//   spine–tor1      spine/dn1         192.0.2.4  2001:db8:2::4  tor1/up1        192.0.2.5  2001:db8:2::5
//   spine–tor2      spine/dn2         192.0.2.6  2001:db8:2::6  tor2/up1        192.0.2.7  2001:db8:2::7
//   tor1–h1         tor1/dn1          192.0.2.10 2001:db8:2::10 h1/up1          192.0.2.11 2001:db8:2::11
//   tor1–h2         tor1/dn2          192.0.2.12 2001:db8:2::12 h2/up1          192.0.2.13 2001:db8:2::13
//   tor1–h3         tor1/dn3          192.0.2.14 2001:db8:2::14 h3/up1          192.0.2.15 2001:db8:2::15
//   tor2–h1         tor2/dn1          192.0.2.20 2001:db8:2::20 h1/up2          192.0.2.21 2001:db8:2::21
//   tor2–h2         tor2/dn2          192.0.2.22 2001:db8:2::22 h2/up2          192.0.2.23 2001:db8:2::23
//   tor2–h3         tor2/dn3          192.0.2.24 2001:db8:2::24 h3/up2          192.0.2.25 2001:db8:2::25
//   tor1–h4         tor1/dn4          192.0.2.16 2001:db8:2::16 h4/up1          192.0.2.17 2001:db8:2::17
//   tor2–h4         tor2/dn4          192.0.2.26 2001:db8:2::26 h4/up2          192.0.2.27 2001:db8:2::27
//   (h4 and its links exist only once Lab.addHost('h4') is called: not in the default three-host lab)
//
//   host  AS     host address on lo (always)             VIP on lo (only when addVip() is called)
//   h1    65101  198.51.100.11/32 2001:db8:100::11/128   203.0.113.10/32 2001:db8:ffff::10/128
//   h2    65102  198.51.100.12/32 2001:db8:100::12/128   (same VIP on every host: anycast)
//   h3    65103  198.51.100.13/32 2001:db8:100::13/128
//   h4    65104  198.51.100.14/32 2001:db8:100::14/128   (added on demand)
//   spine AS 65000 (FRR), tor1 AS 65001 (FRR), tor2 AS 65002 (BIRD 2). Router IDs: the router's first
//   link address (spine 192.0.2.2, tor1 192.0.2.5, tor2 192.0.2.7, hosts their lo address).
//
// The management network (only when lab/etcd.ts starts the etcd store): one bridge `br0` in namespace
// `etcdnet`, every member and every attached host on it by a veth (bridge port `m-<name>`, far end
// `mgmt0`), 192.0.2.128/26 — apart from the fabric: no router carries it and hosts do not forward, so
// a host can lose the store (its port blocked) and keep the fabric, or the reverse.
//   etcdnet br0 192.0.2.129 (the lab's management station: etcdctl runs here)
//   etcd1..etcd5 192.0.2.131..135 (clients :2379, peers :2380, metrics :2381 plain HTTP)
//   h1..h4 mgmt0 192.0.2.141..144; any other attachment (a bench's fleet) 192.0.2.150..190
//
// One private AS per host (RFC 7938 §5.2.1 style): every path the spine sees has the same length
// (tor AS, host AS) so multipath-relax treats them as equal, the origin AS names the host in any
// `show bgp` output, and no allowas-in is needed anywhere.

/** Names of the lab's namespaces, without the per-run prefix. */
export const HOSTS = ['h1', 'h2', 'h3'] as const;
/** Hosts that join only on demand (Lab.addHost): never part of the default lab. */
export const EXTRA_HOSTS = ['h4'] as const;
export const ALL_HOSTS = [...HOSTS, ...EXTRA_HOSTS] as const;
export const TORS = ['tor1', 'tor2'] as const;
export type HostName = (typeof ALL_HOSTS)[number];
export type TorName = (typeof TORS)[number];
export type NodeName = 'client' | 'spine' | TorName | HostName;
export const NODES: readonly NodeName[] = ['client', 'spine', ...TORS, ...HOSTS];

/** IPv4 prefix length of a point-to-point link (RFC 3021) and IPv6 (RFC 6164). */
export const P2P_PREFIX_V4 = 31;
export const P2P_PREFIX_V6 = 127;

export const AS_SPINE = 65000;
export const AS_TOR: Record<TorName, number> = { tor1: 65001, tor2: 65002 };
export const AS_HOST: Record<HostName, number> = { h1: 65101, h2: 65102, h3: 65103, h4: 65104 };

/** One end of a link: namespace, interface name inside it, addresses without prefix length. */
export interface LinkEnd {
  node: NodeName;
  ifname: string;
  v4: string;
  v6: string;
}
export interface Link {
  a: LinkEnd;
  b: LinkEnd;
}

function end(node: NodeName, ifname: string, octet: number): LinkEnd {
  return { node, ifname, v4: `192.0.2.${octet}`, v6: `2001:db8:2::${octet}` };
}

/** Every veth link of the lab (a = the side closer to the spine). */
export const LINKS: readonly Link[] = [
  { a: end('spine', 'cl1', 2), b: end('client', 'up1', 3) },
  { a: end('spine', 'dn1', 4), b: end('tor1', 'up1', 5) },
  { a: end('spine', 'dn2', 6), b: end('tor2', 'up1', 7) },
  { a: end('tor1', 'dn1', 10), b: end('h1', 'up1', 11) },
  { a: end('tor1', 'dn2', 12), b: end('h2', 'up1', 13) },
  { a: end('tor1', 'dn3', 14), b: end('h3', 'up1', 15) },
  { a: end('tor2', 'dn1', 20), b: end('h1', 'up2', 21) },
  { a: end('tor2', 'dn2', 22), b: end('h2', 'up2', 23) },
  { a: end('tor2', 'dn3', 24), b: end('h3', 'up2', 25) },
];

/** The links of the on-demand hosts (created by Lab.addHost). */
export const EXTRA_LINKS: readonly Link[] = [
  { a: end('tor1', 'dn4', 16), b: end('h4', 'up1', 17) },
  { a: end('tor2', 'dn4', 26), b: end('h4', 'up2', 27) },
];

/** The link between two nodes (throws if there is none: a programming error). */
export function linkBetween(upper: NodeName, lower: NodeName): Link {
  const link = [...LINKS, ...EXTRA_LINKS].find((l) => l.a.node === upper && l.b.node === lower);
  if (!link) throw new RangeError(`no lab link ${upper}–${lower}`);
  return link;
}

export interface HostPlan {
  name: HostName;
  as: number;
  /** Host address on lo, also the router ID of the host's BGP speaker. */
  lo4: string;
  lo6: string;
}
export const HOST_PLAN: Record<HostName, HostPlan> = {
  h1: { name: 'h1', as: AS_HOST.h1, lo4: '198.51.100.11', lo6: '2001:db8:100::11' },
  h2: { name: 'h2', as: AS_HOST.h2, lo4: '198.51.100.12', lo6: '2001:db8:100::12' },
  h3: { name: 'h3', as: AS_HOST.h3, lo4: '198.51.100.13', lo6: '2001:db8:100::13' },
  h4: { name: 'h4', as: AS_HOST.h4, lo4: '198.51.100.14', lo6: '2001:db8:100::14' },
};

/** The anycast VIP every host serves. */
export const VIP4 = '203.0.113.10';
export const VIP6 = '2001:db8:ffff::10';

/** What a ToR accepts from a host: /32 and /128 only, from these ranges. */
export const VIP_RANGE4 = '203.0.113.0/24';
export const VIP_RANGE6 = '2001:db8:ffff::/48';
export const HOST_RANGE4 = '198.51.100.0/24';
export const HOST_RANGE6 = '2001:db8:100::/48';

/** Router IDs of the routers (their first link address). */
export const ROUTER_ID: Record<'spine' | TorName, string> = {
  spine: '192.0.2.2',
  tor1: '192.0.2.5',
  tor2: '192.0.2.7',
};

/** The management network of the etcd store (see the plan above). */
export const MGMT_NET4 = '192.0.2.128';
export const MGMT_PREFIX_V4 = 26;
export const MGMT_STATION4 = '192.0.2.129';
/** Address of etcd member n (1-based). */
export const etcdMemberAddress = (n: number): string => `192.0.2.${130 + n}`;
export const MAX_ETCD_MEMBERS = 5;
/** A lab host's management address. */
export const MGMT_HOST4: Record<HostName, string> = {
  h1: '192.0.2.141',
  h2: '192.0.2.142',
  h3: '192.0.2.143',
  h4: '192.0.2.144',
};
/** The first and last management address of other attachments (a bench's fleet namespace). */
export const MGMT_OTHER_FIRST = 150;
export const MGMT_OTHER_LAST = 190;
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
/** Each member's Prometheus metrics, plain HTTP on its management address (the lab's benches read it). */
export const ETCD_METRICS_PORT = 2381;

/** Ports of the lab service (lab/service.ts). */
export const SERVICE_PORTS = { tcp: 8000, http: 8080, udp: 8053 } as const;
