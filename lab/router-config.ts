// The routers' BGP configs, in one place: what the lab starts its spine (FRR), tor1 (FRR) and tor2
// (BIRD) with, and what docs/DEPLOYING.md shows an operator (scripts/deploying-snippets.ts renders the
// doc's blocks from here; test/lab/deploying-doc.test.ts holds the doc to it). The ToR side of a host
// fabric: multipath across the hosts' ASNs (FRR `bgp bestpath as-path multipath-relax` + maximum-paths,
// BIRD `merge paths`), only /32 and /128 routes inside the VIP and host ranges taken from hosts, only the
// default sent to them; the spine originates the default (`default-originate`) that the ToRs pass down.
import { HOSTS, type HostName, ROUTER_ID, type TorName } from './addressing.js';
import { renderBird } from './bird.js';
import { renderBgpd } from './frr.js';
import { spinePeers, torPeers } from './peers.js';

export type RouterName = 'spine' | TorName;
/** The daemon each router runs in the lab. */
export const ROUTER_DAEMON: Record<RouterName, 'frr' | 'bird'> = { spine: 'frr', tor1: 'frr', tor2: 'bird' };

/**
 * bgpd.conf (FRR) or bird.conf (BIRD) of `router` with sessions to `hosts`; BIRD logs to `birdLog`.
 * `gracefulRestart`: the ToRs as graceful restart helpers (RFC 4724; the lab's default is off).
 */
export function routerConfig(
  router: RouterName,
  hosts: readonly HostName[] = HOSTS,
  birdLog = '',
  opts: { gracefulRestart?: boolean } = {},
): string {
  const gracefulRestart = (opts.gracefulRestart ?? false) && router !== 'spine';
  if (ROUTER_DAEMON[router] === 'bird') {
    return renderBird(ROUTER_ID[router], torPeers(router as TorName, hosts), birdLog, undefined, {
      gracefulRestart,
    });
  }
  const peers = router === 'spine' ? spinePeers() : torPeers(router as TorName, hosts);
  return renderBgpd(router, ROUTER_ID[router], peers, { gracefulRestart });
}
