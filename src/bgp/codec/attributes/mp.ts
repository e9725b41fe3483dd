// MP_REACH_NLRI and MP_UNREACH_NLRI values (RFC 4760 §3, §4) for IPv4 and IPv6 unicast. IPv6 next
// hops are 16 octets (global) or 32 (global + link-local, RFC 2545 §3); IPv4 unicast takes a 4-octet
// next hop or, with extended next hop (RFC 8950 §3), a 16/32-octet IPv6 one. Any malformation here
// is a session reset (RFC 7606 §7.11): NLRI that cannot be parsed cannot be treated as withdrawn.

import { IPV4_LEN, IPV6_LEN, ipToBytes, ipToString } from '../addr.js';
import { Reader, Writer } from '../buffer.js';
import { Afi, type AfiCode, Safi, UpdateSubcode } from '../constants.js';
import { type BgpCodecError, BgpEncodeError } from '../errors.js';
import { decodePrefixes, encodePrefix } from '../prefix.js';
import type { MpReach, MpUnreach } from './types.js';

type Bad = (reason: string, subcode?: number) => BgpCodecError;

const LINK_LOCAL_PAIR = 2 * IPV6_LEN;

export function isSupportedFamily(afi: number, safi: number): afi is AfiCode {
  return (afi === Afi.IPV4 || afi === Afi.IPV6) && safi === Safi.UNICAST;
}

function decodeNextHops(afi: number, nh: Buffer, bad: Bad): string[] {
  const ok =
    nh.length === IPV6_LEN || nh.length === LINK_LOCAL_PAIR || (afi === Afi.IPV4 && nh.length === IPV4_LEN);
  if (!ok) throw bad('mp-reach-bad-next-hop-length');
  if (nh.length === LINK_LOCAL_PAIR) {
    return [ipToString(nh.subarray(0, IPV6_LEN)), ipToString(nh.subarray(IPV6_LEN))];
  }
  return [ipToString(nh)];
}

/** Decode MP_REACH_NLRI; returns undefined for an address family this speaker does not carry. */
export function decodeMpReach(value: Buffer, bad: Bad): MpReach | undefined {
  const r = new Reader(value, () => bad('mp-reach-truncated'));
  const afi = r.u16();
  const safi = r.u8();
  const nh = r.bytes(r.u8());
  r.u8(); // reserved (RFC 4760: SNPA count in RFC 2858), ignored
  if (!isSupportedFamily(afi, safi)) return undefined;
  const nextHops = decodeNextHops(afi, nh, bad);
  const nlri = decodePrefixes(r, afi, (reason) =>
    bad(`mp-reach-${reason}`, UpdateSubcode.INVALID_NETWORK_FIELD),
  );
  return { afi, safi, nextHops, nlri };
}

export function decodeMpUnreach(value: Buffer, bad: Bad): MpUnreach | undefined {
  const r = new Reader(value, () => bad('mp-unreach-truncated'));
  const afi = r.u16();
  const safi = r.u8();
  if (!isSupportedFamily(afi, safi)) return undefined;
  const withdrawn = decodePrefixes(r, afi, (reason) =>
    bad(`mp-unreach-${reason}`, UpdateSubcode.INVALID_NETWORK_FIELD),
  );
  return { afi, safi, withdrawn };
}

export function encodeMpReach(m: MpReach): Buffer {
  const w = new Writer().u16(m.afi).u8(m.safi);
  const hops = m.nextHops.map(ipToBytes);
  const nh = Buffer.concat(hops);
  const fine = hops.length === 1 || (hops.length === 2 && nh.length === LINK_LOCAL_PAIR);
  if (!fine || (m.afi === Afi.IPV6 && hops[0]!.length !== IPV6_LEN)) {
    throw new BgpEncodeError(`bad MP_REACH next hops ${m.nextHops.join(',')} for afi ${m.afi}`);
  }
  w.u8(nh.length).bytes(nh).u8(0);
  for (const p of m.nlri) encodePrefix(w, p);
  return w.finish();
}

export function encodeMpUnreach(m: MpUnreach): Buffer {
  const w = new Writer().u16(m.afi).u8(m.safi);
  for (const p of m.withdrawn) encodePrefix(w, p);
  return w.finish();
}
