// NLRI prefixes: the <length, prefix> encoding of RFC 4271 §4.3 (also used inside MP_REACH_NLRI /
// MP_UNREACH_NLRI, RFC 4760 §5). A prefix is {afi, addr, len}; decoded addresses have their host bits cleared.

import { IPV4_LEN, IPV6_LEN, ipToBytes, ipToString } from './addr.js';
import type { Reader, Writer } from './buffer.js';
import { Afi, type AfiCode } from './constants.js';
import { BgpEncodeError } from './errors.js';

export interface Prefix {
  afi: AfiCode;
  addr: string;
  len: number;
}

export function addrLength(afi: AfiCode): number {
  return afi === Afi.IPV4 ? IPV4_LEN : IPV6_LEN;
}

/** Text form "203.0.113.7/32", used as a map key by the RIBs. */
export function prefixKey(p: Prefix): string {
  return `${p.addr}/${p.len}`;
}

/**
 * Decode prefixes until the reader is empty. `bad` builds the error for a length beyond the family's
 * maximum or a truncated prefix (the callers map it to a NOTIFICATION or RFC 7606 action).
 */
export function decodePrefixes(r: Reader, afi: AfiCode, bad: (reason: string) => Error): Prefix[] {
  const max = addrLength(afi) * 8;
  const out: Prefix[] = [];
  while (r.remaining > 0) {
    const len = r.u8();
    if (len > max) throw bad('prefix-length-too-long');
    const octets = (len + 7) >> 3;
    if (r.remaining < octets) throw bad('prefix-truncated');
    const addr = Buffer.alloc(addrLength(afi));
    r.bytes(octets).copy(addr);
    if (len % 8 !== 0) addr[octets - 1]! &= 0xff << (8 - (len % 8));
    out.push({ afi, addr: ipToString(addr), len });
  }
  return out;
}

export function encodePrefix(w: Writer, p: Prefix): void {
  const bytes = ipToBytes(p.addr);
  if (
    bytes.length !== addrLength(p.afi) ||
    p.len < 0 ||
    p.len > bytes.length * 8 ||
    !Number.isInteger(p.len)
  ) {
    throw new BgpEncodeError(`bad prefix ${prefixKey(p)} for afi ${p.afi}`);
  }
  const octets = (p.len + 7) >> 3;
  const out = bytes.subarray(0, octets);
  if (p.len % 8 !== 0) out[octets - 1]! &= 0xff << (8 - (p.len % 8));
  w.u8(p.len).bytes(out);
}

export function encodedPrefixLength(p: Prefix): number {
  return 1 + ((p.len + 7) >> 3);
}
