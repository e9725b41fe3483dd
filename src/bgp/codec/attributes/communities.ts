// COMMUNITIES (RFC 1997) and LARGE_COMMUNITIES (RFC 8092) values, with the well-known community
// names (NO_EXPORT..., GRACEFUL_SHUTDOWN of RFC 8326, BLACKHOLE of RFC 7999) in kebab-case text.
// RFC 7606 §7.8 / RFC 8092 §6: a length that is not a non-zero multiple of 4 / 12 is malformed.

import { Reader, Writer } from '../buffer.js';
import { WellKnownCommunity } from '../constants.js';
import { type BgpCodecError, BgpEncodeError } from '../errors.js';
import type { LargeCommunity } from './types.js';

const COMMUNITY_LEN = 4;
const LARGE_COMMUNITY_LEN = 12;
const U16 = 0xffff;
const U32 = 0xffffffff;

const NAMES: Record<string, number> = {
  'graceful-shutdown': WellKnownCommunity.GRACEFUL_SHUTDOWN,
  blackhole: WellKnownCommunity.BLACKHOLE,
  'no-export': WellKnownCommunity.NO_EXPORT,
  'no-advertise': WellKnownCommunity.NO_ADVERTISE,
  'no-export-subconfed': WellKnownCommunity.NO_EXPORT_SUBCONFED,
  'no-peer': WellKnownCommunity.NOPEER,
};
const NAME_OF = new Map(Object.entries(NAMES).map(([k, v]) => [v, k]));

export function decodeCommunities(value: Buffer, bad: (reason: string) => BgpCodecError): number[] {
  if (value.length === 0 || value.length % COMMUNITY_LEN !== 0) throw bad('communities-bad-length');
  const r = new Reader(value, () => bad('communities-bad-length'));
  const out: number[] = [];
  while (r.remaining > 0) out.push(r.u32());
  return out;
}

export function encodeCommunities(list: readonly number[]): Buffer {
  const w = new Writer();
  for (const c of list) w.u32(c);
  return w.finish();
}

export function decodeLargeCommunities(
  value: Buffer,
  bad: (reason: string) => BgpCodecError,
): LargeCommunity[] {
  if (value.length === 0 || value.length % LARGE_COMMUNITY_LEN !== 0)
    throw bad('large-communities-bad-length');
  const r = new Reader(value, () => bad('large-communities-bad-length'));
  const out: LargeCommunity[] = [];
  while (r.remaining > 0) out.push({ global: r.u32(), local1: r.u32(), local2: r.u32() });
  return out;
}

export function encodeLargeCommunities(list: readonly LargeCommunity[]): Buffer {
  const w = new Writer();
  for (const c of list) w.u32(c.global).u32(c.local1).u32(c.local2);
  return w.finish();
}

/** "65000:100" or a well-known name → 32-bit community. */
export function parseCommunity(text: string): number {
  const named = NAMES[text.toLowerCase().replaceAll('_', '-')];
  if (named !== undefined) return named;
  const m = /^(\d+):(\d+)$/.exec(text);
  const hi = Number(m?.[1]);
  const lo = Number(m?.[2]);
  if (!m || hi > U16 || lo > U16) throw new BgpEncodeError(`not a community: ${text}`);
  return ((hi << 16) | lo) >>> 0;
}

export function formatCommunity(c: number): string {
  return NAME_OF.get(c) ?? `${c >>> 16}:${c & U16}`;
}

/** "4200000000:1:2" → large community. */
export function parseLargeCommunity(text: string): LargeCommunity {
  const parts = text.split(':').map(Number);
  if (parts.length !== 3 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > U32)) {
    throw new BgpEncodeError(`not a large community: ${text}`);
  }
  return { global: parts[0]!, local1: parts[1]!, local2: parts[2]! };
}
