// One peer as `anycastd show peer NAME` details it — its counters, the capabilities its OPEN offered
// (RFC 5492) and what the session negotiated (families, 4-octet AS, route refresh, graceful restart,
// extended next hop), the hold and keepalive agreed — and the operator's reset of it: hard ends the
// session with a Cease NOTIFICATION, subcode 4 Administrative Reset (RFC 4486), after which it restarts
// by itself; soft keeps the session up, asks the peer to send its routes again (ROUTE-REFRESH, RFC 2918)
// and sends ours again.
import { type Capability, findCapability } from './codec/capabilities.js';
import { Afi, CeaseSubcode } from './codec/constants.js';
import type { SpeakerPeer } from './speaker-peer.js';
import type { PeerStatus } from './speaker-status.js';

const SAFI_UNICAST = 1;

export interface PeerDetail extends PeerStatus {
  /** The peer's BGP identifier, "" before an OPEN. */
  peerId: string;
  /** Agreed hold time and keepalive (seconds); 0 when not up. */
  holdTimeS: number;
  keepaliveS: number;
  /** The capabilities of the peer's OPEN, as text ("multiprotocol ipv4-unicast", "four-octet-as 65001"). */
  offered: string[];
  /** What the session now up uses: the families, 4-octet AS, route refresh, graceful restart, extended next hop. */
  negotiated: string[];
}

export type ResetOutcome = 'reset' | 'refreshed' | 'not-established' | 'no-route-refresh';

function family(afi: number, safi: number): string {
  const a = afi === Afi.IPV4 ? 'ipv4' : afi === Afi.IPV6 ? 'ipv6' : `afi${afi}`;
  return `${a}-${safi === SAFI_UNICAST ? 'unicast' : `safi${safi}`}`;
}

export function capabilityText(c: Capability): string {
  switch (c.kind) {
    case 'multiprotocol':
      return `multiprotocol ${family(c.afi, c.safi)}`;
    case 'four-octet-as':
      return `four-octet-as ${c.asn}`;
    case 'graceful-restart':
      return `graceful-restart ${c.time}s`;
    case 'extended-next-hop':
      return `extended-next-hop ${c.entries.map((e) => `${family(e.afi, e.safi)} via ${e.nextHopAfi === Afi.IPV6 ? 'ipv6' : e.nextHopAfi}`).join(',')}`;
    case 'unknown':
      return `unknown ${c.code}`;
    default:
      return c.kind;
  }
}

export function peerDetail(p: SpeakerPeer): PeerDetail {
  const s = p.session;
  const n = s.negotiated;
  const up = s.state === 'established' && n !== undefined;
  const caps = n?.peerOpen.capabilities ?? [];
  const negotiated = up
    ? [
        ...s.families.map((f) => family(f.afi, f.safi)),
        ...(n.as4 ? ['four-octet-as'] : []),
        ...(findCapability(caps, 'route-refresh') ? ['route-refresh'] : []),
        ...(s.gracefulRestartNegotiated ? ['graceful-restart'] : []),
        ...(findCapability(caps, 'extended-next-hop') ? ['extended-next-hop'] : []),
      ]
    : [];
  return {
    ...p.status(),
    peerId: n?.peerId ?? '',
    holdTimeS: up ? n.holdTime : 0,
    keepaliveS: up ? n.keepaliveTime : 0,
    offered: caps.map(capabilityText),
    negotiated,
  };
}

/** The operator's reset of one peer (see the header). */
export function adminReset(p: SpeakerPeer, hard: boolean): ResetOutcome {
  if (hard) {
    p.session.reset(CeaseSubcode.ADMIN_RESET);
    return 'reset';
  }
  if (p.session.state !== 'established') return 'not-established';
  if (!p.session.requestRefresh()) return 'no-route-refresh';
  p.resync();
  return 'refreshed';
}
