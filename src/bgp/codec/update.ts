// UPDATE message (RFC 4271 §4.3) with the revised error handling of RFC 7606: a malformed UPDATE
// either throws a BgpCodecError with action 'session-reset' (send its NOTIFICATION), or decodes with
// a list of outcomes — 'treat-as-withdraw' (every NLRI in it is withdrawn) or 'attribute-discard'
// (the attribute is dropped) — each with a kebab-case reason for the caller to count.
// Also: RFC 6793 AS4_PATH/AS4_AGGREGATOR merge for 2-octet peers, End-of-RIB (RFC 4724 §2).

import { mergeAs4Path } from './attributes/as-path.js';
import { ATTRIBUTE_BY_CODE, ATTRIBUTES, type AttrSpec, type Bad } from './attributes/table.js';
import type { AttrContext, DecodingAttributes, PathAttributes } from './attributes/types.js';
import { Reader, Writer } from './buffer.js';
import {
  Afi,
  AS_TRANS,
  AttrFlag,
  AttrType,
  ErrorCode,
  HEADER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  Safi,
  UpdateSubcode,
} from './constants.js';
import { BgpCodecError, BgpEncodeError, fatal, type Rfc7606Action } from './errors.js';
import { frame } from './header.js';
import { decodePrefixes, encodePrefix, type Prefix } from './prefix.js';

export interface UpdateMessage {
  /** IPv4 withdrawn routes of the classic field (MP withdrawals are in attributes.mpUnreach). */
  withdrawn: Prefix[];
  attributes: PathAttributes;
  /** IPv4 NLRI of the classic field (MP NLRI are in attributes.mpReach). */
  nlri: Prefix[];
}

/** A non-fatal RFC 7606 outcome applied while decoding. */
export interface Rfc7606Outcome {
  action: Exclude<Rfc7606Action, 'session-reset'>;
  reason: string;
  attrCode?: number;
  subcode: number;
}

export interface DecodedUpdate extends UpdateMessage {
  outcomes: Rfc7606Outcome[];
  /** RFC 7606 §2: the routes this UPDATE announces must be handled as withdrawn. */
  treatAsWithdraw: boolean;
}

const { UPDATE_MESSAGE } = ErrorCode;
const MP_CODES: readonly number[] = [AttrType.MP_REACH_NLRI, AttrType.MP_UNREACH_NLRI];
const ATTR_HEADER_MIN = 3;
const SHORT_LENGTH_MAX = 255;

function outcome(outcomes: Rfc7606Outcome[], e: BgpCodecError, attrCode?: number): void {
  if (e.action === 'session-reset') throw e;
  outcomes.push({ action: e.action, reason: e.reason, attrCode, subcode: e.notifySubcode });
}

function soft(
  action: Rfc7606Outcome['action'],
  reason: string,
  subcode: number,
  data?: Buffer,
): BgpCodecError {
  return new BgpCodecError({ notifyCode: UPDATE_MESSAGE, notifySubcode: subcode, action, reason, data });
}

/** Decode the path attributes field into `into`; non-fatal outcomes go to `outcomes`. */
function decodeAttributes(
  ar: Reader,
  into: DecodingAttributes,
  ctx: AttrContext,
  outcomes: Rfc7606Outcome[],
): void {
  const seen = new Set<number>();
  while (ar.remaining > 0) {
    const start = ar.offset;
    if (ar.remaining < ATTR_HEADER_MIN) {
      // RFC 7606 §4: leftover octets too few for an attribute header.
      outcome(
        outcomes,
        soft('treat-as-withdraw', 'attribute-header-underrun', UpdateSubcode.ATTRIBUTE_LENGTH),
      );
      return;
    }
    const flags = ar.u8();
    const code = ar.u8();
    const extended = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
    const len = extended ? (ar.remaining >= 2 ? ar.u16() : -1) : ar.u8();
    if (len < 0 || len > ar.remaining) {
      // RFC 7606 §4: an attribute overruns the attribute field. MP attributes carry NLRI we cannot then locate.
      if (MP_CODES.includes(code)) {
        throw fatal(UPDATE_MESSAGE, UpdateSubcode.ATTRIBUTE_LENGTH, 'mp-attribute-length-overrun');
      }
      outcome(
        outcomes,
        soft('treat-as-withdraw', 'attribute-length-overrun', UpdateSubcode.ATTRIBUTE_LENGTH),
        code,
      );
      return;
    }
    const value = ar.bytes(len);
    const raw = ar.buf.subarray(start, ar.offset);
    const spec = ATTRIBUTE_BY_CODE.get(code);
    if (seen.has(code)) {
      // RFC 7606 §3(g): keep the first; a repeated MP attribute is Malformed Attribute List.
      if (MP_CODES.includes(code)) {
        throw fatal(UPDATE_MESSAGE, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, `duplicate-${spec!.name}`);
      }
      outcome(
        outcomes,
        soft('attribute-discard', 'duplicate-attribute', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST),
        code,
      );
      continue;
    }
    seen.add(code);
    if (!spec) {
      decodeUnknown(code, flags, value, raw, into);
      continue;
    }
    decodeKnown(spec, flags, value, raw, into, ctx, outcomes);
  }
}

/** RFC 4271 §5 / §9: unknown well-known → error; optional transitive → keep, Partial set; else drop. */
function decodeUnknown(
  code: number,
  flags: number,
  value: Buffer,
  raw: Buffer,
  into: DecodingAttributes,
): void {
  if ((flags & AttrFlag.OPTIONAL) === 0) {
    throw fatal(
      UPDATE_MESSAGE,
      UpdateSubcode.UNRECOGNIZED_WELL_KNOWN,
      'unrecognized-well-known-attribute',
      raw,
    );
  }
  if ((flags & AttrFlag.TRANSITIVE) === 0) return;
  into.unknown ??= [];
  into.unknown.push({
    code,
    flags: (flags | AttrFlag.PARTIAL) & ~AttrFlag.EXTENDED_LENGTH,
    value: Buffer.from(value),
  });
}

function decodeKnown(
  spec: AttrSpec,
  flags: number,
  value: Buffer,
  raw: Buffer,
  into: DecodingAttributes,
  ctx: AttrContext,
  outcomes: Rfc7606Outcome[],
): void {
  const bad: Bad = (reason, subcode = spec.subcode, action = spec.malformed) =>
    new BgpCodecError({ notifyCode: UPDATE_MESSAGE, notifySubcode: subcode, data: raw, action, reason });
  // RFC 7606 §3(c): Optional/Transitive bits in conflict → treat-as-withdraw. MP attributes are still
  // parsed so that their NLRI can be withdrawn.
  const flagsWrong = (flags & (AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE)) !== spec.flags;
  if (flagsWrong) {
    outcome(
      outcomes,
      bad(`${spec.name}-bad-flags`, UpdateSubcode.ATTRIBUTE_FLAGS, 'treat-as-withdraw'),
      spec.code,
    );
    if (!MP_CODES.includes(spec.code)) return;
  }
  try {
    spec.decode(value, into, ctx, bad);
  } catch (e) {
    if (!(e instanceof BgpCodecError)) throw e;
    outcome(outcomes, e, spec.code);
  }
}

/** RFC 6793 §4.2.3: for a 2-octet peer, rebuild AS_PATH and AGGREGATOR from AS4_PATH / AS4_AGGREGATOR. */
function mergeAs4(a: DecodingAttributes): PathAttributes {
  const { as4Path, as4Aggregator, ...attrs } = a;
  if (attrs.aggregator && as4Aggregator) {
    if (attrs.aggregator.asn !== AS_TRANS) return attrs; // both AS4 attributes are ignored
    attrs.aggregator = as4Aggregator;
  }
  if (as4Path && attrs.asPath) attrs.asPath = mergeAs4Path(attrs.asPath, as4Path);
  return attrs;
}

const MANDATORY: readonly AttrSpec[] = [AttrType.ORIGIN, AttrType.AS_PATH, AttrType.NEXT_HOP].map(
  (c) => ATTRIBUTE_BY_CODE.get(c)!,
);
const FIELD_OF: Record<number, keyof PathAttributes> = {
  [AttrType.ORIGIN]: 'origin',
  [AttrType.AS_PATH]: 'asPath',
  [AttrType.NEXT_HOP]: 'nextHop',
};

/** RFC 7606 §3(d): a missing well-known mandatory attribute → treat-as-withdraw (NEXT_HOP only with IPv4 NLRI). */
function checkMandatory(u: UpdateMessage, outcomes: Rfc7606Outcome[]): void {
  const reach = u.nlri.length > 0 || (u.attributes.mpReach?.nlri.length ?? 0) > 0;
  if (!reach) return;
  for (const spec of MANDATORY) {
    if (spec.code === AttrType.NEXT_HOP && u.nlri.length === 0) continue;
    if (u.attributes[FIELD_OF[spec.code]!] !== undefined) continue;
    if (outcomes.some((o) => o.attrCode === spec.code && o.action === 'treat-as-withdraw')) continue;
    outcomes.push({
      action: 'treat-as-withdraw',
      reason: `missing-${spec.name}`,
      attrCode: spec.code,
      subcode: UpdateSubcode.MISSING_WELL_KNOWN,
    });
  }
}

export function decodeUpdate(msg: Buffer, ctx: AttrContext): DecodedUpdate {
  const listError = (reason: string) => fatal(UPDATE_MESSAGE, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, reason);
  const r = new Reader(msg, () => listError('update-truncated'), HEADER_LENGTH);
  const withdrawnLen = r.u16();
  const wr = r.sub(withdrawnLen, () => listError('withdrawn-length-overrun'));
  const attrLen = r.u16();
  const ar = r.sub(attrLen, () => listError('attribute-length-overrun'));
  const network = (where: string) => (reason: string) =>
    fatal(UPDATE_MESSAGE, UpdateSubcode.INVALID_NETWORK_FIELD, `${where}-${reason}`);
  const withdrawn = decodePrefixes(wr, Afi.IPV4, network('withdrawn'));
  const nlri = decodePrefixes(r, Afi.IPV4, network('nlri'));
  const outcomes: Rfc7606Outcome[] = [];
  const into: DecodingAttributes = {};
  decodeAttributes(ar, into, ctx, outcomes);
  const attributes = ctx.as4 ? stripAs4(into) : mergeAs4(into);
  const u: UpdateMessage = { withdrawn, attributes, nlri };
  checkMandatory(u, outcomes);
  return { ...u, outcomes, treatAsWithdraw: outcomes.some((o) => o.action === 'treat-as-withdraw') };
}

function stripAs4(a: DecodingAttributes): PathAttributes {
  const { as4Path: _p, as4Aggregator: _a, ...attrs } = a;
  return attrs;
}

/** What an UPDATE does to the Adj-RIB-In, with treat-as-withdraw applied. */
export function updateRoutes(u: DecodedUpdate): { announced: Prefix[]; withdrawn: Prefix[] } {
  const reach = [...u.nlri, ...(u.attributes.mpReach?.nlri ?? [])];
  const withdrawn = [...u.withdrawn, ...(u.attributes.mpUnreach?.withdrawn ?? [])];
  return u.treatAsWithdraw
    ? { announced: [], withdrawn: [...withdrawn, ...reach] }
    : { announced: reach, withdrawn };
}

/** The address family an End-of-RIB marker (RFC 4724 §2) stands for, or undefined if this is not one. */
export function endOfRib(u: UpdateMessage): { afi: number; safi: number } | undefined {
  const keys = Object.keys(u.attributes).filter((k) => u.attributes[k as keyof PathAttributes] !== undefined);
  if (u.withdrawn.length > 0 || u.nlri.length > 0) return undefined;
  if (keys.length === 0) return { afi: Afi.IPV4, safi: Safi.UNICAST };
  const un = u.attributes.mpUnreach;
  if (keys.length === 1 && un && un.withdrawn.length === 0) return { afi: un.afi, safi: un.safi };
  return undefined;
}

export function encodeEndOfRib(afi: number, safi: number, ctx: AttrContext): Buffer {
  if (afi === Afi.IPV4 && safi === Safi.UNICAST) return encodeUpdate({}, ctx);
  return encodeUpdate({ attributes: { mpUnreach: { afi, safi, withdrawn: [] } } }, ctx);
}

function writeAttribute(w: Writer, flags: number, code: number, value: Buffer): void {
  const extended = value.length > SHORT_LENGTH_MAX;
  w.u8(extended ? flags | AttrFlag.EXTENDED_LENGTH : flags & ~AttrFlag.EXTENDED_LENGTH).u8(code);
  if (extended) w.u16(value.length);
  else w.u8(value.length);
  w.bytes(value);
}

/** RFC 7606 §5.1: MP_REACH_NLRI / MP_UNREACH_NLRI first, then the rest by type code. */
const ENCODE_ORDER: readonly AttrSpec[] = [
  ...MP_CODES.map((c) => ATTRIBUTE_BY_CODE.get(c)!),
  ...ATTRIBUTES.filter((s) => !MP_CODES.includes(s.code)).sort((a, b) => a.code - b.code),
];

function encodePrefixes(w: Writer, prefixes: readonly Prefix[]): void {
  for (const p of prefixes) {
    if (p.afi !== Afi.IPV4) throw new BgpEncodeError('only IPv4 prefixes go in the classic UPDATE fields');
    encodePrefix(w, p);
  }
}

export function encodeUpdate(u: Partial<UpdateMessage>, ctx: AttrContext, max = MAX_MESSAGE_LENGTH): Buffer {
  const w = new Writer();
  const withdrawnLen = w.lengthField(2);
  encodePrefixes(w, u.withdrawn ?? []);
  withdrawnLen();
  const attrLen = w.lengthField(2);
  const attrs = u.attributes ?? {};
  for (const spec of ENCODE_ORDER) {
    const value = spec.encode(attrs, ctx);
    if (value) writeAttribute(w, spec.flags, spec.code, value);
  }
  for (const a of attrs.unknown ?? []) writeAttribute(w, a.flags, a.code, a.value);
  attrLen();
  encodePrefixes(w, u.nlri ?? []);
  return frame(MessageType.UPDATE, w.finish(), max);
}
