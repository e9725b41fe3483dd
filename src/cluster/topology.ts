// Who the cluster channel talks to, derived once per config: the remote instances' host addresses (the
// sources the endpoint admits, both families), the one address polled per remote host (IPv4 where it has
// one), the services each remote address runs (what it is sent, and what a reply from it may carry), and
// how many host addresses the config names (the connection cap scales with it).

import type { Config } from '../config/types.js';

export interface Topology {
  /** This host's own addresses. */
  own: ReadonlySet<string>;
  /** Remote instance host address (either family) → the services with an instance there. */
  servicesAt: ReadonlyMap<string, ReadonlySet<string>>;
  /** The address polled per remote host. */
  pollTargets: ReadonlySet<string>;
  /** Distinct host addresses in the config (this host's included). */
  hostCount: number;
}

const NONE: ReadonlySet<string> = new Set();

export function topologyOf(config: Config): Topology {
  const { ipv4, ipv6 } = config.node.host;
  const own = new Set([ipv4, ipv6].filter((a): a is string => a !== null));
  const servicesAt = new Map<string, Set<string>>();
  const pollTargets = new Set<string>();
  const all = new Set(own);
  for (const s of config.services)
    for (const i of s.instances) {
      const addresses = [i.host.ipv4, i.host.ipv6].filter((a): a is string => a !== null);
      for (const a of addresses) all.add(a);
      if (i.id === s.localInstanceId || addresses.some((a) => own.has(a))) continue;
      for (const a of addresses) {
        const set = servicesAt.get(a) ?? new Set<string>();
        set.add(s.name);
        servicesAt.set(a, set);
      }
      pollTargets.add(addresses[0]!);
    }
  return { own, servicesAt, pollTargets, hostCount: all.size };
}

/** The services with a remote instance at `address` (empty for any other address). */
export function servicesAt(t: Topology, address: string): ReadonlySet<string> {
  return t.servicesAt.get(address) ?? NONE;
}
