// Reading a namespace's kernel FIB: the nexthops of one route, from `ip -j route show exact`.
// A multipath route lists `nexthops`; a single-path route has `gateway`/`dev` at top level.
// Routes installed by FRR use nexthop objects (`nhid`), but the kernel still expands their nexthops
// in route dumps, so both daemons' routes read the same way.

import { runAsync } from './exec.js';

export interface Nexthop {
  gateway: string;
  dev: string;
}

interface RouteJson {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  nexthops?: { gateway?: string; dev?: string }[];
}

/** The nexthops of the route to exactly `prefix` in `ns` ([] if there is no such route). */
export async function routeNexthops(ns: string, prefix: string): Promise<Nexthop[]> {
  const family = prefix.includes(':') ? '-6' : '-4';
  // `ip -n` switches namespace itself: one exec fewer than `ip netns exec`, which matters when polling.
  const out = await runAsync('ip', ['-n', ns, family, '-j', 'route', 'show', 'exact', prefix]);
  const routes = JSON.parse(out.trim() === '' ? '[]' : out) as RouteJson[];
  const route = routes.find((r) => r.type === undefined || r.type === 'unicast');
  if (!route) return [];
  if (route.nexthops) {
    return route.nexthops.map((n) => ({ gateway: n.gateway ?? '', dev: n.dev ?? '' }));
  }
  return route.gateway ? [{ gateway: route.gateway, dev: route.dev ?? '' }] : [];
}

/** Host route of an address: `/32` or `/128`. */
export function hostPrefix(addr: string): string {
  return addr.includes(':') ? `${addr}/128` : `${addr}/32`;
}
