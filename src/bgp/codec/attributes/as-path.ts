// AS_PATH and AS4_PATH values (RFC 4271 §4.3, RFC 6793): segments of 2- or 4-octet AS numbers, the
// RFC 7606 §7.2 malformation checks, and the RFC 6793 §4.2.3 merge of AS_PATH with AS4_PATH for
// routes from a 2-octet ("OLD") speaker, plus its reverse (AS_TRANS substitution) for sending to one.

import { Reader, Writer } from '../buffer.js';
import { AS_TRANS, MAX_AS2, SegmentType } from '../constants.js';
import type { BgpCodecError } from '../errors.js';
import type { AsPathSegment, SegmentKind } from './types.js';

const KIND_OF: Record<number, SegmentKind> = {
  [SegmentType.AS_SET]: 'set',
  [SegmentType.AS_SEQUENCE]: 'sequence',
  [SegmentType.AS_CONFED_SEQUENCE]: 'confed-sequence',
  [SegmentType.AS_CONFED_SET]: 'confed-set',
};
const CODE_OF: Record<SegmentKind, number> = {
  set: SegmentType.AS_SET,
  sequence: SegmentType.AS_SEQUENCE,
  'confed-sequence': SegmentType.AS_CONFED_SEQUENCE,
  'confed-set': SegmentType.AS_CONFED_SET,
};
const MAX_SEGMENT_ASNS = 255;
const SEGMENT_HEADER = 2;

export type AsnSize = 2 | 4;

export function decodeAsPath(
  value: Buffer,
  size: AsnSize,
  bad: (reason: string) => BgpCodecError,
): AsPathSegment[] {
  const r = new Reader(value, () => bad('as-path-segment-overrun'));
  const out: AsPathSegment[] = [];
  while (r.remaining > 0) {
    if (r.remaining < SEGMENT_HEADER) throw bad('as-path-segment-underrun');
    const type = KIND_OF[r.u8()];
    if (!type) throw bad('as-path-bad-segment-type');
    const count = r.u8();
    if (count === 0) throw bad('as-path-empty-segment');
    const asns: number[] = [];
    for (let i = 0; i < count; i++) asns.push(size === 4 ? r.u32() : r.u16());
    out.push({ type, asns });
  }
  return out;
}

export function encodeAsPath(segments: readonly AsPathSegment[], size: AsnSize): Buffer {
  const w = new Writer();
  for (const seg of segments) {
    for (let i = 0; i < seg.asns.length; i += MAX_SEGMENT_ASNS) {
      const part = seg.asns.slice(i, i + MAX_SEGMENT_ASNS);
      w.u8(CODE_OF[seg.type]).u8(part.length);
      for (const asn of part) {
        if (size === 4) w.u32(asn);
        else w.u16(asn > MAX_AS2 ? AS_TRANS : asn);
      }
    }
  }
  return w.finish();
}

export function isConfed(seg: AsPathSegment): boolean {
  return seg.type === 'confed-sequence' || seg.type === 'confed-set';
}

/** Path length for best-path and for the RFC 6793 merge: a set counts 1, confederation segments 0. */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const seg of segments) {
    if (seg.type === 'sequence') n += seg.asns.length;
    else if (seg.type === 'set') n += 1;
  }
  return n;
}

export function needsAs4(segments: readonly AsPathSegment[]): boolean {
  return segments.some((s) => s.asns.some((a) => a > MAX_AS2));
}

/**
 * RFC 6793 §4.2.3: rebuild the true path from a 2-octet AS_PATH and an AS4_PATH. If AS_PATH is shorter
 * than AS4_PATH, AS4_PATH is ignored; otherwise the leading (len(AS_PATH) - len(AS4_PATH)) ASes of
 * AS_PATH are kept and AS4_PATH appended.
 */
export function mergeAs4Path(
  asPath: readonly AsPathSegment[],
  as4Path: readonly AsPathSegment[],
): AsPathSegment[] {
  const as4 = as4Path.filter((s) => !isConfed(s)); // RFC 6793 §6: confed segments in AS4_PATH are discarded
  const keep = asPathLength(asPath) - asPathLength(as4);
  if (keep < 0) return asPath.map((s) => ({ type: s.type, asns: [...s.asns] }));
  const out: AsPathSegment[] = [];
  let left = keep;
  for (const seg of asPath) {
    if (left <= 0 && !isConfed(seg)) break;
    if (seg.type === 'sequence') {
      const take = seg.asns.slice(0, left);
      left -= take.length;
      if (take.length > 0) out.push({ type: 'sequence', asns: take });
    } else if (seg.type === 'set') {
      left -= 1;
      out.push({ type: 'set', asns: [...seg.asns] });
    } else {
      out.push({ type: seg.type, asns: [...seg.asns] });
    }
  }
  for (const seg of as4) {
    const last = out[out.length - 1];
    if (seg.type === 'sequence' && last?.type === 'sequence') last.asns.push(...seg.asns);
    else out.push({ type: seg.type, asns: [...seg.asns] });
  }
  return out;
}
