// What this speaker puts in its OPEN (RFC 4271 §4.2 with the capabilities of RFC 4760, 2918, 6793,
// 4724, 8950) and what the two OPENs leave in common: address families, 4-octet AS, extended next hop,
// route refresh. Graceful restart (RFC 4724 §3): as a restarting speaker, every offered family with the
// forwarding-state bit (the XDP program, its pinned maps and our kernel default route keep forwarding
// while the agent restarts) and the Restart State bit while the agent is restarting; as a helper only,
// the restart time and no family.

import { type AfiSafi, type Capability, findCapability } from './codec/capabilities.js';
import { Afi, Safi } from './codec/constants.js';
import { myAsField, type OpenMessage } from './codec/open.js';
import { DEFAULT_HOLD_TIME } from './fsm/open-check.js';
import type { FsmConfig } from './fsm/types.js';

export interface OpenOptions extends FsmConfig {
  /** Address families to offer (default IPv4 and IPv6 unicast). */
  families?: AfiSafi[];
  /** Offer IPv4 unicast with IPv6 next hops (RFC 8950), for unnumbered peering. */
  extendedNextHop?: boolean;
  /** Advertise graceful restart (RFC 4724) with this restart time in seconds. */
  gracefulRestartTime?: number;
  /** Restarting speaker (RFC 4724 §3): list the families with the F bit; `restarting` sets the R bit. */
  gracefulRestart?: { restarting: boolean };
}

export const DEFAULT_FAMILIES: readonly AfiSafi[] = [
  { afi: Afi.IPV4, safi: Safi.UNICAST },
  { afi: Afi.IPV6, safi: Safi.UNICAST },
];

export function buildOpen(o: OpenOptions): Omit<OpenMessage, 'version'> {
  const caps: Capability[] = (o.families ?? DEFAULT_FAMILIES).map((f) => ({ kind: 'multiprotocol', ...f }));
  caps.push({ kind: 'route-refresh' });
  if (o.as4 ?? true) caps.push({ kind: 'four-octet-as', asn: o.localAs });
  if (o.extendedNextHop) {
    caps.push({
      kind: 'extended-next-hop',
      entries: [{ afi: Afi.IPV4, safi: Safi.UNICAST, nextHopAfi: Afi.IPV6 }],
    });
  }
  if (o.gracefulRestartTime !== undefined) {
    const gr = o.gracefulRestart;
    caps.push({
      kind: 'graceful-restart',
      restarting: gr?.restarting ?? false,
      notification: false,
      time: o.gracefulRestartTime,
      families: gr ? (o.families ?? DEFAULT_FAMILIES).map((f) => ({ ...f, forwardingPreserved: true })) : [],
    });
  }
  return {
    myAs: myAsField(o.localAs),
    holdTime: o.holdTime ?? DEFAULT_HOLD_TIME,
    bgpId: o.localId,
    capabilities: caps,
  };
}

/** Families both sides offered; a peer without any multiprotocol capability speaks IPv4 unicast only. */
export function commonFamilies(o: OpenOptions, peer: OpenMessage): AfiSafi[] {
  const theirs = peer.capabilities.filter((c) => c.kind === 'multiprotocol');
  const offered = theirs.length > 0 ? theirs : [{ afi: Afi.IPV4, safi: Safi.UNICAST }];
  return (o.families ?? DEFAULT_FAMILIES).filter((f) =>
    offered.some((t) => t.afi === f.afi && t.safi === f.safi),
  );
}

/** Both sides can carry IPv4 unicast with an IPv6 next hop (RFC 8950 §4). */
export function extendedNextHopAgreed(o: OpenOptions, peer: OpenMessage): boolean {
  const enh = findCapability(peer.capabilities, 'extended-next-hop');
  return (
    (o.extendedNextHop ?? false) &&
    (enh?.entries.some((e) => e.afi === Afi.IPV4 && e.safi === Safi.UNICAST && e.nextHopAfi === Afi.IPV6) ??
      false)
  );
}
