// The lab's BGP sessions, derived from the addressing plan: one session per address family per link
// (IPv4 over IPv4, IPv6 over IPv6, as many fabrics run them), and the policy on each side. The FRR
// and BIRD config renderers both consume this, so the two ToRs are configured from the same facts.

import {
  AS_HOST,
  AS_SPINE,
  AS_TOR,
  HOSTS,
  type HostName,
  type Link,
  type LinkEnd,
  linkBetween,
  type NodeName,
  TORS,
  type TorName,
} from './addressing.js';

/**
 * What a side accepts or sends: only the default route; only host routes (/32 and /128 from the VIP
 * and host-address ranges); nothing.
 */
export type Policy = 'default-only' | 'host-routes' | 'none';
export type Family = 4 | 6;

/**
 * Session timers of every lab router, FRR and BIRD alike (seconds): keepalive 1, hold 3 (the RFC 4271
 * minimum), connect retry 1; ECMP up to MAX_PATHS equal paths in the kernel (the lab needs 3).
 */
export const LAB_TIMERS = { keepaliveS: 1, holdS: 3, connectRetryS: 1 } as const;
export const MAX_PATHS = 16;
/** How long a router daemon may take to answer on its control socket after start. */
export const DAEMON_READY_TIMEOUT_MS = 10_000;
export const FAMILIES: readonly Family[] = [4, 6];

/** One BGP session as seen from one side. */
export interface PeerSpec {
  /** Stable name of the session on this side, e.g. "tor1_4" (a BIRD protocol name). */
  name: string;
  /** The node at the other end. */
  peer: NodeName;
  family: Family;
  localAddress: string;
  peerAddress: string;
  localAs: number;
  peerAs: number;
  import: Policy;
  export: Policy;
  /** Send a default route whether or not one is in the table (the spine: it is the fabric's edge). */
  originateDefault: boolean;
  /**
   * Send every path, not just the best (ADD-PATH, RFC 7911): a ToR tells the spine about each host
   * behind it, so the spine's BGP table names all three hosts although its FIB only needs the ToRs.
   */
  addPathTx: boolean;
}

export function asOf(node: NodeName): number {
  if (node === 'spine') return AS_SPINE;
  if (node === 'tor1' || node === 'tor2') return AS_TOR[node];
  if (node === 'client') throw new RangeError('the client speaks no BGP');
  return AS_HOST[node];
}

function addr(e: LinkEnd, family: Family): string {
  return family === 4 ? e.v4 : e.v6;
}

function session(
  self: NodeName,
  link: Link,
  family: Family,
  policy: { import: Policy; export: Policy; originateDefault?: boolean; addPathTx?: boolean },
): PeerSpec {
  const [mine, theirs] = link.a.node === self ? [link.a, link.b] : [link.b, link.a];
  return {
    name: `${theirs.node}_${family}`,
    peer: theirs.node,
    family,
    localAddress: addr(mine, family),
    peerAddress: addr(theirs, family),
    localAs: asOf(self),
    peerAs: asOf(theirs.node),
    import: policy.import,
    export: policy.export,
    originateDefault: policy.originateDefault ?? false,
    addPathTx: policy.addPathTx ?? false,
  };
}

/** The spine's sessions: to both ToRs; it accepts host routes and sends only a default. */
export function spinePeers(): PeerSpec[] {
  return TORS.flatMap((tor) =>
    FAMILIES.map((f) =>
      session('spine', linkBetween('spine', tor), f, {
        import: 'host-routes',
        export: 'none',
        originateDefault: true,
      }),
    ),
  );
}

/** A ToR's sessions: up to the spine (default in, host routes out), down to each host (the reverse). */
export function torPeers(tor: TorName, hosts: readonly HostName[] = HOSTS): PeerSpec[] {
  const up = FAMILIES.map((f) =>
    session(tor, linkBetween('spine', tor), f, {
      import: 'default-only',
      export: 'host-routes',
      addPathTx: true,
    }),
  );
  const down = hosts.flatMap((h) =>
    FAMILIES.map((f) =>
      session(tor, linkBetween(tor, h), f, { import: 'host-routes', export: 'default-only' }),
    ),
  );
  return [...up, ...down];
}

/** A host's sessions: to both ToRs; it learns the default and advertises its own host routes. */
export function hostPeers(host: HostName): PeerSpec[] {
  return TORS.flatMap((tor) =>
    FAMILIES.map((f) =>
      session(host, linkBetween(tor, host), f, { import: 'default-only', export: 'host-routes' }),
    ),
  );
}

/** Both ends of one host–ToR link (the host side `h`, the ToR side `t`), IPv4 and IPv6. */
export interface LinkAddresses {
  h4: string;
  t4: string;
  h6: string;
  t6: string;
}

/**
 * A ToR's sessions (IPv4 and IPv6) toward a single host `h1` over one link: the two-namespace setups of
 * the speaker tests and the BGP benchmark, where the ToR sends a default and takes host routes.
 */
export function singleHostTorPeers(link: LinkAddresses, localAs: number, peerAs: number): PeerSpec[] {
  const base = {
    peer: 'h1' as const,
    localAs,
    peerAs,
    import: 'host-routes' as const,
    export: 'default-only' as const,
    originateDefault: true,
    addPathTx: false,
  };
  return [
    { ...base, name: 'h1_4', family: 4, localAddress: link.t4, peerAddress: link.h4 },
    { ...base, name: 'h1_6', family: 6, localAddress: link.t6, peerAddress: link.h6 },
  ];
}
