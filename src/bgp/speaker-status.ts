// Per-peer counters of the speaker and the plain snapshot the metrics layer reads (`peers()`):
// session state, flaps (Established → any other state), messages by type in each direction, prefixes advertised / received / accepted, max-prefix events,
// graceful-restart stale routes and the RFC 7606 outcomes counted by the session.

import type { BfdPeerStatus } from '../bfd/manager.js';
import type { PeerConfig } from '../config/types.js';
import type { BgpMessage } from './codec/message.js';
import type { FsmState } from './fsm.js';
import { REJECT_REASONS, type RejectReason } from './nexthop-check.js';
import type { AdjRibIn } from './rib.js';
import type { SessionCounters } from './session.js';

export type MessageCounts = Readonly<Record<BgpMessage['type'], number>>;

/** One accepted route of a peer's Adj-RIB-In, as `show routes` lists it. */
export interface ReceivedRoute {
  peer: string;
  /** "address/length". */
  prefix: string;
  /** The next hop the kernel route would use ('' if none is usable). */
  nextHop: string;
  /** The AS numbers of the AS_PATH in order (sets flattened). */
  asPath: number[];
  med: number | null;
  /** RFC 1997 communities as 32-bit values. */
  communities: number[];
  /** Kept, stale, from before the peer restarted (graceful restart helper). */
  stale: boolean;
  /** In use: the peer is not over a max-prefix limit with action withdraw. */
  used: boolean;
}

export interface PeerStatus {
  name: string;
  address: string | null;
  interface: string | null;
  remoteAsn: number;
  state: FsmState;
  /** Milliseconds since the session came up, or null when it is not Established. */
  uptimeMs: number | null;
  messagesIn: number;
  messagesOut: number;
  updatesIn: number;
  updatesOut: number;
  /** Messages by type (open, update, notification, keepalive, route-refresh), sent and received. */
  sentByType: MessageCounts;
  receivedByType: MessageCounts;
  /** Times the session left Established since the peer was configured. */
  flaps: number;
  notificationsIn: number;
  notificationsOut: number;
  /** The last NOTIFICATION, "code/subcode", by direction. */
  lastNotificationIn: string | null;
  lastNotificationOut: string | null;
  routeRefreshIn: number;
  endOfRibIn: number;
  endOfRibOut: number;
  /** Prefixes in the Adj-RIB-Out now. */
  prefixesAdvertised: number;
  /** Prefixes the peer announces now (before policy) and those accepted by import policy. */
  prefixesReceived: number;
  prefixesAccepted: number;
  /** Announcements seen and accepted since start (cumulative). */
  announcementsReceived: number;
  announcementsAccepted: number;
  staleRoutes: number;
  maxPrefixExceeded: number;
  /** Over the limit right now (with action withdraw: its routes are not used). */
  overMaxPrefix: boolean;
  /** RFC 7606 outcomes by "action:reason". */
  rfc7606: Record<string, number>;
  /** Its BFD session (src/bfd), when it has one; filled by the composition root. */
  bfd?: BfdPeerStatus;
  /** Its interface has carrier and is up; undefined when not known. Filled by the composition root. */
  linkUp?: boolean;
  /** Announcements not used, by reason (nexthop-check.ts): since the peer was configured. */
  routesRejected: Record<RejectReason, number>;
}

/** What a snapshot reads from the peer. */
export interface StatusSource {
  config: PeerConfig;
  state: FsmState;
  /** When the session came up, on the clock's monotonic now() (the `now` a snapshot is given). */
  establishedAt: number | undefined;
  ribIn: AdjRibIn;
  session: { counters: SessionCounters };
}

export class PeerCounters {
  notificationsIn = 0;
  notificationsOut = 0;
  lastNotificationIn: string | null = null;
  lastNotificationOut: string | null = null;
  routeRefreshIn = 0;
  endOfRibIn = 0;
  endOfRibOut = 0;
  prefixesAdvertised = 0;
  prefixesReceived = 0;
  prefixesAccepted = 0;
  maxPrefixExceeded = 0;
  overLimit = false;
  flaps = 0;
  private readonly rejects = new Map<RejectReason, number>();

  /** One more route not used for `reason`; returns the count so far. */
  rejected(reason: RejectReason): number {
    const n = (this.rejects.get(reason) ?? 0) + 1;
    this.rejects.set(reason, n);
    return n;
  }

  /** An FSM transition: leaving Established is a flap. */
  state(from: FsmState, to: FsmState): void {
    if (from === 'established' && to !== 'established') this.flaps++;
  }

  notification(direction: 'sent' | 'received', code: number, subcode: number): void {
    if (direction === 'sent') {
      this.notificationsOut++;
      this.lastNotificationOut = `${code}/${subcode}`;
    } else {
      this.notificationsIn++;
      this.lastNotificationIn = `${code}/${subcode}`;
    }
  }

  /** The peer's status at `now` (the clock's monotonic now()). */
  snapshot(p: StatusSource, now: number): PeerStatus {
    const c = p.session.counters;
    return {
      name: p.config.name,
      address: p.config.address,
      interface: p.config.interface,
      remoteAsn: p.config.remoteAsn,
      state: p.state,
      uptimeMs: p.establishedAt !== undefined ? now - p.establishedAt : null,
      messagesIn: c.messagesIn,
      messagesOut: c.messagesOut,
      updatesIn: c.updatesIn,
      updatesOut: c.updatesOut,
      sentByType: { ...c.sentByType },
      receivedByType: { ...c.receivedByType },
      flaps: this.flaps,
      notificationsIn: this.notificationsIn,
      notificationsOut: this.notificationsOut,
      lastNotificationIn: this.lastNotificationIn,
      lastNotificationOut: this.lastNotificationOut,
      routeRefreshIn: this.routeRefreshIn,
      endOfRibIn: this.endOfRibIn,
      endOfRibOut: this.endOfRibOut,
      prefixesAdvertised: this.prefixesAdvertised,
      prefixesReceived: p.ribIn.receivedCount,
      prefixesAccepted: p.ribIn.acceptedCount,
      announcementsReceived: this.prefixesReceived,
      announcementsAccepted: this.prefixesAccepted,
      staleRoutes: p.ribIn.routes().filter((r) => r.stale).length,
      maxPrefixExceeded: this.maxPrefixExceeded,
      overMaxPrefix: this.overLimit,
      rfc7606: Object.fromEntries(c.rfc7606),
      routesRejected: Object.fromEntries(REJECT_REASONS.map((r) => [r, this.rejects.get(r) ?? 0])) as Record<
        RejectReason,
        number
      >,
    };
  }
}
