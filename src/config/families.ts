// Which address families a configured peer's session carries, and the rule that follows from it: a VIP
// of a family no configured peer carries would be reported ANNOUNCED while no router ever hears of it (a
// silent blackhole), so the config is refused. A numbered peer carries its transport's family (IPv4
// unicast over an IPv4 session, IPv6 unicast over IPv6, as many fabrics run them); an interface peer
// carries both, IPv4 with IPv6 next hops (RFC 8950). The BGP speaker offers exactly these families.

import { isIPv4 } from 'node:net';
import type { Report } from './semantics.js';
import type { Config, PeerConfig } from './types.js';

export type Family = 4 | 6;

/** The address families this peer's session carries. */
export function carriedFamilies(peer: PeerConfig): Family[] {
  if (peer.interface !== null) return [4, 6];
  return peer.address?.includes(':') ? [6] : [4];
}

const familyOf = (address: string): Family => (isIPv4(address) ? 4 : 6);

function describe(peer: PeerConfig): string {
  const where = peer.address ?? `interface ${peer.interface}`;
  return `${peer.name} (${where}: IPv${carriedFamilies(peer).join('+IPv')})`;
}

/** With peers configured, every VIP's family must be carried by at least one of them. */
export function checkVipFamilies(cfg: Config, report: Report): void {
  if (cfg.peers.length === 0) return;
  const carried = new Set(cfg.peers.flatMap(carriedFamilies));
  cfg.services.forEach((s, i) => {
    s.vips.forEach((vip, j) => {
      const family = familyOf(vip);
      if (carried.has(family)) return;
      report(
        ['services', i, 'vips', j],
        `a VIP family a configured peer carries (a numbered peer carries only its own address family; ` +
          `add an IPv${family} session or an interface peer)`,
        `IPv${family} VIP ${vip} of service "${s.name}", but the peers ${cfg.peers.map(describe).join(', ')} ` +
          `carry no IPv${family}`,
      );
    });
  });
}
