// The path attribute table, one row per attribute this speaker understands (the BIRD `bgp_attr_table`
// idea): expected flags, what RFC 7606 §7 says to do when it is malformed, and its decoder and encoder.
// Decoders report malformation through `bad`, which update.ts turns into the row's RFC 7606 action.

import { IPV4_LEN, ipv4ToBytes, ipv4ToString } from '../addr.js';
import { Reader, Writer } from '../buffer.js';
import { AttrFlag, AttrType, MAX_AS2, Origin, type OriginCode, UpdateSubcode } from '../constants.js';
import type { BgpCodecError, Rfc7606Action } from '../errors.js';
import { myAsField } from '../open.js';
import { decodeAsPath, encodeAsPath, isConfed, needsAs4 } from './as-path.js';
import {
  decodeCommunities,
  decodeLargeCommunities,
  encodeCommunities,
  encodeLargeCommunities,
} from './communities.js';
import { decodeMpReach, decodeMpUnreach, encodeMpReach, encodeMpUnreach } from './mp.js';
import type { Aggregator, AsPathSegment, AttrContext, DecodingAttributes, PathAttributes } from './types.js';

export type Bad = (reason: string, subcode?: number, action?: Rfc7606Action) => BgpCodecError;

export interface AttrSpec {
  code: number;
  name: string;
  /** The Optional and Transitive bits this attribute must carry. */
  flags: number;
  /** RFC 7606 §7 outcome for a malformed value. */
  malformed: Rfc7606Action;
  /** NOTIFICATION subcode reported for a malformed value unless the decoder names a finer one. */
  subcode: number;
  decode(value: Buffer, into: DecodingAttributes, ctx: AttrContext, bad: Bad): void;
  /** The attribute value to send, or undefined when it is absent. */
  encode(attrs: PathAttributes, ctx: AttrContext): Buffer | undefined;
}

const WELL_KNOWN = AttrFlag.TRANSITIVE;
const OPTIONAL = AttrFlag.OPTIONAL;
const OPTIONAL_TRANSITIVE = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;
const U32_LEN = 4;
const AGGREGATOR2_LEN = 6;
const AGGREGATOR4_LEN = 8;
const { ATTRIBUTE_LENGTH } = UpdateSubcode;

function u32Value(v: number | undefined): Buffer | undefined {
  return v === undefined ? undefined : new Writer().u32(v).finish();
}

function decodeU32(value: Buffer, name: string, bad: Bad): number {
  if (value.length !== U32_LEN) throw bad(`${name}-bad-length`, ATTRIBUTE_LENGTH);
  return value.readUInt32BE(0);
}

function decodeAggregator(value: Buffer, asnSize: 2 | 4, name: string, bad: Bad): Aggregator {
  if (value.length !== (asnSize === 4 ? AGGREGATOR4_LEN : AGGREGATOR2_LEN)) {
    throw bad(`${name}-bad-length`, ATTRIBUTE_LENGTH);
  }
  const r = new Reader(value, () => bad(`${name}-bad-length`, ATTRIBUTE_LENGTH));
  const asn = asnSize === 4 ? r.u32() : r.u16();
  return { asn, address: ipv4ToString(r.bytes(IPV4_LEN)) };
}

/** RFC 4271 §6.3: a NEXT_HOP that is not a valid unicast host address. */
function badNextHop(b: Buffer): boolean {
  const first = b[0]!;
  const ZERO_NET = 0;
  const LOOPBACK_NET = 127;
  const MULTICAST_START = 224; // 224/4 multicast and 240/4 reserved, broadcast included
  return first === ZERO_NET || first === LOOPBACK_NET || first >= MULTICAST_START;
}

/** RFC 4271 §6.3: the leftmost AS of a path from an external peer is the peer's own AS. */
function startsWith(path: readonly AsPathSegment[], asn: number): boolean {
  const first = path[0];
  return first?.type === 'sequence' && first.asns[0] === asn;
}

const ORIGIN_VALUES: readonly number[] = Object.values(Origin);

export const ATTRIBUTES: readonly AttrSpec[] = [
  {
    code: AttrType.ORIGIN,
    name: 'origin',
    flags: WELL_KNOWN,
    malformed: 'treat-as-withdraw',
    subcode: UpdateSubcode.INVALID_ORIGIN,
    decode(value, into, _ctx, bad) {
      if (value.length !== 1) throw bad('origin-bad-length', ATTRIBUTE_LENGTH);
      if (!ORIGIN_VALUES.includes(value[0]!)) throw bad('origin-bad-value');
      into.origin = value[0] as OriginCode;
    },
    encode: (a) => (a.origin === undefined ? undefined : Buffer.from([a.origin])),
  },
  {
    code: AttrType.AS_PATH,
    name: 'as-path',
    flags: WELL_KNOWN,
    malformed: 'treat-as-withdraw',
    subcode: UpdateSubcode.MALFORMED_AS_PATH,
    decode(value, into, ctx, bad) {
      const path = decodeAsPath(value, ctx.as4 ? 4 : 2, bad);
      if (ctx.ebgp && path.some(isConfed)) throw bad('as-path-confed-from-ebgp');
      if (ctx.ebgp && ctx.peerAs !== undefined && !startsWith(path, ctx.peerAs)) {
        throw bad('as-path-first-as-mismatch');
      }
      into.asPath = path;
    },
    encode: (a, ctx) => (a.asPath ? encodeAsPath(a.asPath, ctx.as4 ? 4 : 2) : undefined),
  },
  {
    code: AttrType.NEXT_HOP,
    name: 'next-hop',
    flags: WELL_KNOWN,
    malformed: 'treat-as-withdraw',
    subcode: UpdateSubcode.INVALID_NEXT_HOP,
    decode(value, into, _ctx, bad) {
      if (value.length !== IPV4_LEN) throw bad('next-hop-bad-length', ATTRIBUTE_LENGTH);
      if (badNextHop(value)) throw bad('next-hop-invalid');
      into.nextHop = ipv4ToString(value);
    },
    encode: (a) => (a.nextHop === undefined ? undefined : ipv4ToBytes(a.nextHop)),
  },
  {
    code: AttrType.MED,
    name: 'med',
    flags: OPTIONAL,
    malformed: 'treat-as-withdraw',
    subcode: UpdateSubcode.OPTIONAL_ATTRIBUTE,
    decode(value, into, _ctx, bad) {
      into.med = decodeU32(value, 'med', bad);
    },
    encode: (a) => u32Value(a.med),
  },
  {
    code: AttrType.LOCAL_PREF,
    name: 'local-pref',
    flags: WELL_KNOWN,
    malformed: 'treat-as-withdraw',
    subcode: ATTRIBUTE_LENGTH,
    decode(value, into, ctx, bad) {
      // RFC 7606 §7.5: LOCAL_PREF from an external peer is discarded, whatever its length.
      if (ctx.ebgp) throw bad('local-pref-from-ebgp', ATTRIBUTE_LENGTH, 'attribute-discard');
      into.localPref = decodeU32(value, 'local-pref', bad);
    },
    encode: (a, ctx) => (ctx.ebgp ? undefined : u32Value(a.localPref)),
  },
  {
    code: AttrType.ATOMIC_AGGREGATE,
    name: 'atomic-aggregate',
    flags: WELL_KNOWN,
    malformed: 'attribute-discard',
    subcode: ATTRIBUTE_LENGTH,
    decode(value, into, _ctx, bad) {
      if (value.length !== 0) throw bad('atomic-aggregate-bad-length');
      into.atomicAggregate = true;
    },
    encode: (a) => (a.atomicAggregate ? Buffer.alloc(0) : undefined),
  },
  {
    code: AttrType.AGGREGATOR,
    name: 'aggregator',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'attribute-discard',
    subcode: ATTRIBUTE_LENGTH,
    decode(value, into, ctx, bad) {
      into.aggregator = decodeAggregator(value, ctx.as4 ? 4 : 2, 'aggregator', bad);
    },
    encode(a, ctx) {
      if (!a.aggregator) return undefined;
      const w = new Writer();
      if (ctx.as4) w.u32(a.aggregator.asn);
      else w.u16(myAsField(a.aggregator.asn));
      return w.bytes(ipv4ToBytes(a.aggregator.address)).finish();
    },
  },
  {
    code: AttrType.COMMUNITIES,
    name: 'communities',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'treat-as-withdraw',
    subcode: UpdateSubcode.OPTIONAL_ATTRIBUTE,
    decode(value, into, _ctx, bad) {
      into.communities = decodeCommunities(value, bad);
    },
    encode: (a) => (a.communities?.length ? encodeCommunities(a.communities) : undefined),
  },
  {
    code: AttrType.MP_REACH_NLRI,
    name: 'mp-reach-nlri',
    flags: OPTIONAL,
    malformed: 'session-reset',
    subcode: UpdateSubcode.OPTIONAL_ATTRIBUTE,
    decode(value, into, _ctx, bad) {
      const m = decodeMpReach(value, bad);
      if (!m) throw bad('mp-reach-unsupported-family', UpdateSubcode.OPTIONAL_ATTRIBUTE, 'attribute-discard');
      into.mpReach = m;
    },
    encode: (a) => (a.mpReach ? encodeMpReach(a.mpReach) : undefined),
  },
  {
    code: AttrType.MP_UNREACH_NLRI,
    name: 'mp-unreach-nlri',
    flags: OPTIONAL,
    malformed: 'session-reset',
    subcode: UpdateSubcode.OPTIONAL_ATTRIBUTE,
    decode(value, into, _ctx, bad) {
      const m = decodeMpUnreach(value, bad);
      if (!m)
        throw bad('mp-unreach-unsupported-family', UpdateSubcode.OPTIONAL_ATTRIBUTE, 'attribute-discard');
      into.mpUnreach = m;
    },
    encode: (a) => (a.mpUnreach ? encodeMpUnreach(a.mpUnreach) : undefined),
  },
  {
    code: AttrType.AS4_PATH,
    name: 'as4-path',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'attribute-discard', // RFC 6793 §6: a malformed AS4_PATH is discarded
    subcode: UpdateSubcode.MALFORMED_AS_PATH,
    decode(value, into, ctx, bad) {
      if (ctx.as4) throw bad('as4-path-from-4-octet-speaker'); // RFC 6793 §4.1: ignored between NEW speakers
      into.as4Path = decodeAsPath(value, 4, bad);
    },
    encode: (a, ctx) =>
      !ctx.as4 && a.asPath && needsAs4(a.asPath)
        ? encodeAsPath(
            a.asPath.filter((s) => !isConfed(s)),
            4,
          )
        : undefined,
  },
  {
    code: AttrType.AS4_AGGREGATOR,
    name: 'as4-aggregator',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'attribute-discard',
    subcode: ATTRIBUTE_LENGTH,
    decode(value, into, ctx, bad) {
      if (ctx.as4) throw bad('as4-aggregator-from-4-octet-speaker');
      into.as4Aggregator = decodeAggregator(value, 4, 'as4-aggregator', bad);
    },
    encode(a, ctx) {
      if (ctx.as4 || !a.aggregator || a.aggregator.asn <= MAX_AS2) return undefined;
      return new Writer().u32(a.aggregator.asn).bytes(ipv4ToBytes(a.aggregator.address)).finish();
    },
  },
  {
    code: AttrType.LARGE_COMMUNITIES,
    name: 'large-communities',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'treat-as-withdraw',
    subcode: UpdateSubcode.OPTIONAL_ATTRIBUTE,
    decode(value, into, _ctx, bad) {
      into.largeCommunities = decodeLargeCommunities(value, bad);
    },
    encode: (a) => (a.largeCommunities?.length ? encodeLargeCommunities(a.largeCommunities) : undefined),
  },
];

export const ATTRIBUTE_BY_CODE: ReadonlyMap<number, AttrSpec> = new Map(ATTRIBUTES.map((s) => [s.code, s]));
