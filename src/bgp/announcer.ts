// The announcer contract: how the agent (src/agent/) tells BGP what to announce — implemented by the
// speaker (speaker.ts), and in tests by recorders — plus what a speaker may offer beyond it (reloading its
// peers) and the handle the process holds on it. A contract of this layer, which the agent imports: kept
// small and stable, so each side can be built and tested alone (tests may implement it over the real
// parts, never instead of them in end-to-end).

import type { PeerConfig } from '../config/types.js';
import type { LargeCommunity } from './codec/attributes/types.js';
import type { Prefix } from './codec/prefix.js';
import type { PeerDetail, ResetOutcome } from './peer-admin.js';
import type { PeerStatus, ReceivedRoute } from './speaker-status.js';

/** One prefix in one peer's Adj-RIB-Out. */
export interface SentRoute {
  peer: string;
  /** "address/length". */
  prefix: string;
}

/** What the agent may change about an exported route; the speaker fills ORIGIN, AS_PATH, NEXT_HOP. */
export interface ExportAttributes {
  /** MULTI_EXIT_DISC; used to worsen a route before withdrawing it. */
  med?: number;
  /** Extra copies of the local AS prepended to AS_PATH (worsen by prepending). */
  prepend?: number;
  /** RFC 1997 communities as 32-bit values, e.g. GRACEFUL_SHUTDOWN 0xffff0000 (RFC 8326). */
  communities?: number[];
  /** RFC 8092 large communities. */
  largeCommunities?: LargeCommunity[];
}

/** The BGP side as the agent sees it. */
export interface RouteAnnouncer {
  /** Advertise a prefix to every peer (again with new attributes if it changed; identical → nothing sent). */
  advertise(prefix: Prefix, attrs?: ExportAttributes): void;
  /** Withdraw a prefix from every peer. */
  withdraw(prefix: Prefix): void;
  /**
   * Resolves true once every Established peer has been sent (written to its socket) every change made
   * before the call; false when `timeoutMs` passes first. Peers not Established count as told.
   */
  flushed(timeoutMs: number): Promise<boolean>;
  /** Start-up: End-of-RIB is held (RFC 4724) until the agent releases it after the first checks settle. */
  releaseEndOfRib(): void;
}

/** What a speaker offers for reloading its peers without touching unchanged sessions (optional). */
export interface PeerApplier {
  applyPeers(peers: readonly PeerConfig[]): void | Promise<void>;
}

export function hasApplyPeers(x: object): x is PeerApplier {
  return typeof (x as Partial<PeerApplier>).applyPeers === 'function';
}

/** An announcer plus how to close it (the speaker's sessions) and, from a speaker, its peers' snapshot. */
export interface AnnouncerHandle {
  announcer: RouteAnnouncer;
  /** For good (Cease, routes withdrawn), or `restart`: graceful-restart peers keep our routes (RFC 4724). */
  close(how?: { restart?: boolean }): void;
  /** Would a restart now keep our routes anywhere (a session up with graceful restart negotiated)? */
  restartKeepsRoutes?: () => boolean;
  peers?: () => readonly PeerStatus[];
  /** Routes received from the peers (the speaker's accepted Adj-RIB-In). */
  received?: () => readonly ReceivedRoute[];
  /** What each peer was actually sent: the prefixes in its Adj-RIB-Out (none while its session is down). */
  sent?: () => readonly SentRoute[];
  /** Inbound BGP connections refused at accept since start (not from a peer of that listener). */
  connectionsRefused?: () => number;
  /** BFD packets dropped since start, by reason (src/bfd). */
  bfdDrops?: () => Readonly<Record<string, number>>;
  /** One peer in detail (`show peer`); undefined: no such peer. */
  peerDetail?: (name: string) => PeerDetail | undefined;
  /** The operator's reset of a peer (`anycastd peer reset`); undefined: no such peer. */
  resetPeer?: (name: string, hard: boolean) => ResetOutcome | undefined;
}
