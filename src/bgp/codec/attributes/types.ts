// Decoded path attributes (RFC 4271 §5 and the extensions this speaker understands) and the
// per-session context the attribute codec needs (4-octet AS negotiated? eBGP or iBGP?).

import type { OriginCode } from '../constants.js';
import type { Prefix } from '../prefix.js';

export type SegmentKind = 'set' | 'sequence' | 'confed-sequence' | 'confed-set';

export interface AsPathSegment {
  type: SegmentKind;
  asns: number[];
}

export interface Aggregator {
  asn: number;
  address: string;
}

export interface LargeCommunity {
  global: number;
  local1: number;
  local2: number;
}

/** MP_REACH_NLRI (RFC 4760 §3). `nextHops` is [global] or [global, link-local] (RFC 2545 §3). */
export interface MpReach {
  afi: number;
  safi: number;
  nextHops: string[];
  nlri: Prefix[];
}

/** MP_UNREACH_NLRI (RFC 4760 §4). No withdrawn routes at all is End-of-RIB (RFC 4724 §2). */
export interface MpUnreach {
  afi: number;
  safi: number;
  withdrawn: Prefix[];
}

/** An attribute this speaker does not know, kept (optional transitive) for re-advertisement. */
export interface UnknownAttribute {
  code: number;
  flags: number;
  value: Buffer;
}

export interface PathAttributes {
  origin?: OriginCode;
  asPath?: AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: Aggregator;
  /** RFC 1997 communities as 32-bit values (high 16 bits = AS). */
  communities?: number[];
  largeCommunities?: LargeCommunity[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  unknown?: UnknownAttribute[];
}

/** Attributes while decoding: AS4_PATH / AS4_AGGREGATOR live here until merged (RFC 6793 §4.2.3). */
export interface DecodingAttributes extends PathAttributes {
  as4Path?: AsPathSegment[];
  as4Aggregator?: Aggregator;
}

export interface AttrContext {
  /** Both sides advertised the 4-octet AS capability (RFC 6793): AS numbers are 4 octets on the wire. */
  as4: boolean;
  /** The peer is external: LOCAL_PREF is discarded, confederation segments are malformed. */
  ebgp: boolean;
  /**
   * The external peer's AS: when set, an AS_PATH that does not start with it is malformed (RFC 4271
   * §6.3 "enforce first AS", treat-as-withdraw under RFC 7606). Leave unset for route servers.
   */
  peerAs?: number;
}
