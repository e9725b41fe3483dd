// A TypeScript mirror of bpf/parse.h (the same steps and the same outcomes on the same bytes):
// Ethernet + up to two VLAN tags, IPv4 (options allowed) / IPv6 (+ fragment header), TCP/UDP ports,
// and the quoted header of ICMP (RFC 792) / ICMPv6 (RFC 4443) errors. Used by the model (steer.ts).
import { FAMILY_V4, FAMILY_V6, type FlowKey } from '../src/steer/layout.js';
import * as P from '../src/steer/proto.js';

export type ParseResult = 'ok' | 'skip' | 'fail';

/** What the parser learned about a frame (struct pkt of parse.h). */
export interface Pkt {
  key: FlowKey;
  l2Len: number;
  l3Off: number;
  l3Len: number;
  ipHlen: number;
  outerLen: number;
  ethProto: number;
  tos: number;
  frag: boolean;
  rst: boolean;
  icmpErr: boolean;
  syn: boolean; // TCP SYN: a miss looks up the `new` ring
  marked: boolean; // arrived tunnelled with the second-chance mark
  mark: boolean; // forward with the second-chance mark
  seq: number; // TCP sequence number (the socket check's window test)
}

export function emptyKey(family = 0): FlowKey {
  return { src: Buffer.alloc(16), dst: Buffer.alloc(16), sport: 0, dport: 0, proto: 0, family };
}

export function newPkt(): Pkt {
  const p = { l2Len: 0, l3Off: 0, l3Len: 0, ipHlen: 0, outerLen: 0, ethProto: 0, tos: 0, seq: 0 };
  const flags = { frag: false, rst: false, icmpErr: false, syn: false, marked: false, mark: false };
  return { ...p, key: emptyKey(), ...flags };
}

export function parseL2(f: Buffer, p: Pkt): ParseResult {
  if (f.length < P.ETH_HLEN) return 'fail';
  let proto = f.readUInt16BE(12);
  let off = P.ETH_HLEN;
  for (let i = 0; i < P.VLAN_MAX_DEPTH; i++) {
    if (proto !== P.ETH_P_8021Q && proto !== P.ETH_P_8021AD) break;
    if (off + 4 > f.length) return 'fail';
    proto = f.readUInt16BE(off + 2);
    off += P.VLAN_HLEN;
  }
  if (proto !== P.ETH_P_IP && proto !== P.ETH_P_IPV6) return 'skip';
  p.l2Len = off;
  p.l3Off = off;
  p.ethProto = proto;
  return 'ok';
}

function parseIpv4(f: Buffer, p: Pkt): ParseResult {
  const o = p.l3Off;
  if (o + P.IPV4_HLEN > f.length) return 'fail';
  const ihl = f[o]! & 0x0f;
  if (f[o]! >> 4 !== 4 || ihl < 5) return 'fail';
  const hlen = ihl * 4;
  const tot = f.readUInt16BE(o + 2);
  if (tot < hlen || o + tot > f.length) return 'fail';
  p.key = emptyKey(FAMILY_V4);
  f.copy(p.key.src, 0, o + 12, o + 16);
  f.copy(p.key.dst, 0, o + 16, o + 20);
  p.key.proto = f[o + 9]!;
  p.l3Len = tot;
  p.ipHlen = hlen;
  p.tos = f[o + 1]!;
  if (f.readUInt16BE(o + 6) & (P.IPV4_MF | P.IPV4_OFFSET)) p.frag = true;
  return 'ok';
}

function parseIpv6(f: Buffer, p: Pkt): ParseResult {
  const o = p.l3Off;
  if (o + P.IPV6_HLEN > f.length) return 'fail';
  if (f[o]! >> 4 !== 6) return 'fail';
  const tot = P.IPV6_HLEN + f.readUInt16BE(o + 4);
  if (o + tot > f.length) return 'fail';
  p.key = emptyKey(FAMILY_V6);
  f.copy(p.key.src, 0, o + 8, o + 24);
  f.copy(p.key.dst, 0, o + 24, o + 40);
  p.key.proto = f[o + 6]!;
  p.l3Len = tot;
  p.ipHlen = P.IPV6_HLEN;
  p.tos = ((f[o]! & 0x0f) << 4) | (f[o + 1]! >> 4);
  if (p.key.proto === P.IPV6_NEXTHDR_FRAG) {
    if (o + P.IPV6_HLEN + P.IPV6_FRAG_HLEN > f.length) return 'fail';
    p.key.proto = f[o + P.IPV6_HLEN]!;
    p.ipHlen += P.IPV6_FRAG_HLEN;
    p.frag = true;
  }
  return 'ok';
}

export function parseIp(f: Buffer, p: Pkt): ParseResult {
  return p.ethProto === P.ETH_P_IP ? parseIpv4(f, p) : parseIpv6(f, p);
}

function icmpIsError(family: number, type: number): boolean {
  if (family === FAMILY_V4)
    return [P.ICMP_DEST_UNREACH, P.ICMP_TIME_EXCEEDED, P.ICMP_PARAMPROB].includes(type);
  return [P.ICMP6_DST_UNREACH, P.ICMP6_PACKET_TOO_BIG, P.ICMP6_TIME_EXCEED, P.ICMP6_PARAM_PROB].includes(
    type,
  );
}

function parseQuoted(f: Buffer, off: number, p: Pkt): ParseResult {
  let proto: number;
  let frag = false;
  let portsOff: number;
  if (p.key.family === FAMILY_V4) {
    if (off + P.IPV4_HLEN > f.length) return 'fail';
    const ihl = f[off]! & 0x0f;
    if (f[off]! >> 4 !== 4 || ihl < 5) return 'fail';
    p.key = emptyKey(FAMILY_V4);
    f.copy(p.key.src, 0, off + 16, off + 20);
    f.copy(p.key.dst, 0, off + 12, off + 16);
    proto = f[off + 9]!;
    frag = (f.readUInt16BE(off + 6) & (P.IPV4_MF | P.IPV4_OFFSET)) !== 0;
    portsOff = off + ihl * 4;
  } else {
    if (off + P.IPV6_HLEN > f.length) return 'fail';
    p.key = emptyKey(FAMILY_V6);
    f.copy(p.key.src, 0, off + 24, off + 40);
    f.copy(p.key.dst, 0, off + 8, off + 24);
    proto = f[off + 6]!;
    portsOff = off + P.IPV6_HLEN;
    if (proto === P.IPV6_NEXTHDR_FRAG) {
      if (off + P.IPV6_HLEN + P.IPV6_FRAG_HLEN > f.length) return 'fail';
      proto = f[off + P.IPV6_HLEN]!;
      frag = true;
    }
  }
  if (proto !== P.IPPROTO_TCP && proto !== P.IPPROTO_UDP) return 'skip';
  p.key.proto = proto;
  p.icmpErr = true;
  if (frag) {
    p.frag = true;
    return 'ok';
  }
  if (portsOff + 4 > f.length) return 'fail';
  p.key.sport = f.readUInt16BE(portsOff + 2);
  p.key.dport = f.readUInt16BE(portsOff);
  return 'ok';
}

export function parseL4(f: Buffer, p: Pkt): ParseResult {
  const off = p.l3Off + p.ipHlen;
  const proto = p.key.proto;
  if (proto === P.IPPROTO_TCP || proto === P.IPPROTO_UDP) {
    if (p.frag) return 'ok';
    if (off + 4 > f.length) return 'fail';
    p.key.sport = f.readUInt16BE(off);
    p.key.dport = f.readUInt16BE(off + 2);
    if (proto === P.IPPROTO_TCP) {
      if (off + P.TCP_FLAGS_OFF + 1 > f.length) return 'fail';
      if (f[off + P.TCP_FLAGS_OFF]! & P.TCP_RST) p.rst = true;
      if (f[off + P.TCP_FLAGS_OFF]! & P.TCP_SYN) p.syn = true;
      p.seq = f.readUInt32BE(off + P.TCP_SEQ_OFF);
    }
    return 'ok';
  }
  const icmp =
    (proto === P.IPPROTO_ICMP && p.key.family === FAMILY_V4) ||
    (proto === P.IPPROTO_ICMPV6 && p.key.family === FAMILY_V6);
  if (!icmp || p.frag) return 'skip';
  if (off + P.ICMP_HLEN > f.length) return 'fail';
  if (!icmpIsError(p.key.family, f[off]!)) return 'skip';
  return parseQuoted(f, off + P.ICMP_HLEN, p);
}
