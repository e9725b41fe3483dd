// The packet rewrites of bpf/encap.h, as byte builders for the model: IPIP (RFC 2003), IP6-in-IP6
// (RFC 2473), decapsulation, ICMP fragmentation-needed (RFC 792/1191), ICMPv6 packet-too-big (RFC 4443).

import { FLOW_LABEL_HASH_MASK, SECOND_CHANCE_ID4, SECOND_CHANCE_LABEL6 } from '../src/steer/layout.js';
import * as P from '../src/steer/proto.js';
import { checksum, pseudo6 } from './csum.js';
import type { Pkt } from './parse.js';

/** The frame's l2 header (Ethernet + VLAN tags), MACs swapped when asked. */
export function l2Header(f: Buffer, p: Pkt, swap: boolean): Buffer {
  const l2 = Buffer.from(f.subarray(0, p.l2Len));
  if (swap) {
    f.copy(l2, 0, P.ETH_ALEN, 2 * P.ETH_ALEN);
    f.copy(l2, P.ETH_ALEN, 0, P.ETH_ALEN);
  }
  return l2;
}

export interface Ipv4Fields {
  tos: number;
  id?: number; // identification (0 unless the second-chance mark)
  totLen: number;
  frag: number;
  proto: number;
  src: Uint8Array;
  dst: Uint8Array;
}

/** An IPv4 header without options, TTL 64, checksummed. */
export function ipv4Header(h: Ipv4Fields): Buffer {
  const b = Buffer.alloc(P.IPV4_HLEN);
  b[0] = 0x45;
  b[1] = h.tos;
  b.writeUInt16BE(h.totLen, 2);
  b.writeUInt16BE(h.id ?? 0, 4);
  b.writeUInt16BE(h.frag, 6);
  b[8] = P.ENCAP_TTL;
  b[9] = h.proto;
  b.set(h.src.subarray(0, 4), 12);
  b.set(h.dst.subarray(0, 4), 16);
  b.writeUInt16BE(checksum(b), 10);
  return b;
}

export interface Ipv6Fields {
  tc: number;
  label: number;
  payloadLen: number;
  nextHeader: number;
  src: Uint8Array;
  dst: Uint8Array;
}

/** An IPv6 header, hop limit 64. */
export function ipv6Header(h: Ipv6Fields): Buffer {
  const b = Buffer.alloc(P.IPV6_HLEN);
  b.writeUInt32BE(((6 << 28) | (h.tc << 20) | (h.label & 0xfffff)) >>> 0, 0);
  b.writeUInt16BE(h.payloadLen, 4);
  b[6] = h.nextHeader;
  b[7] = P.ENCAP_TTL;
  b.set(h.src.subarray(0, 16), 8);
  b.set(h.dst.subarray(0, 16), 24);
  return b;
}

export function encap4(f: Buffer, p: Pkt, src: Uint8Array, dst: Uint8Array): Buffer {
  const outer = ipv4Header({
    tos: p.tos,
    totLen: p.l3Len + P.IPV4_HLEN,
    id: p.mark ? SECOND_CHANCE_ID4 : 0,
    frag: P.IPV4_DF,
    proto: P.IPPROTO_IPIP,
    src,
    dst,
  });
  return Buffer.concat([l2Header(f, p, true), outer, f.subarray(p.l2Len)]);
}

export function encap6(f: Buffer, p: Pkt, src: Uint8Array, dst: Uint8Array, hash: number): Buffer {
  const outer = ipv6Header({
    tc: p.tos,
    label: (hash & FLOW_LABEL_HASH_MASK) | (p.mark ? SECOND_CHANCE_LABEL6 : 0),
    payloadLen: p.l3Len,
    nextHeader: P.IPPROTO_IPV6,
    src,
    dst,
  });
  return Buffer.concat([l2Header(f, p, true), outer, f.subarray(p.l2Len)]);
}

export function decap(f: Buffer, p: Pkt): Buffer {
  return Buffer.concat([l2Header(f, p, false), f.subarray(p.l2Len + p.outerLen)]);
}

/** ICMP fragmentation needed from the VIP to the client, quoting the IP header + 64 bits. */
export function tooBig4(f: Buffer, p: Pkt, mtu: number): Buffer {
  const quote = f.subarray(p.l2Len, p.l2Len + p.ipHlen + 8);
  const icmp = Buffer.alloc(P.ICMP_HLEN);
  icmp[0] = P.ICMP_DEST_UNREACH;
  icmp[1] = P.ICMP_FRAG_NEEDED;
  icmp.writeUInt16BE((mtu - P.IPV4_HLEN) & 0xffff, 6);
  icmp.writeUInt16BE(checksum(icmp, quote), 2);
  const ip = ipv4Header({
    tos: 0,
    totLen: P.IPV4_HLEN + P.ICMP_HLEN + quote.length,
    frag: 0,
    proto: P.IPPROTO_ICMP,
    src: p.key.dst,
    dst: p.key.src,
  });
  return Buffer.concat([l2Header(f, p, true), ip, icmp, quote]);
}

/** ICMPv6 packet too big from the VIP to the client, quoting the start of the packet. */
export function tooBig6(f: Buffer, p: Pkt, mtu: number): Buffer {
  const quoteLen = Math.min(p.l3Len, P.ICMP6_QUOTE_MAX) & ~1;
  const quote = f.subarray(p.l2Len, p.l2Len + quoteLen);
  const icmp = Buffer.alloc(P.ICMP_HLEN);
  icmp[0] = P.ICMP6_PACKET_TOO_BIG;
  icmp.writeUInt32BE((mtu - P.IPV6_HLEN) >>> 0, 4);
  const ph = pseudo6(p.key.dst, p.key.src, P.ICMP_HLEN + quoteLen, P.IPPROTO_ICMPV6);
  icmp.writeUInt16BE(checksum(ph, icmp, quote), 2);
  const ip = ipv6Header({
    tc: 0,
    label: 0,
    payloadLen: P.ICMP_HLEN + quoteLen,
    nextHeader: P.IPPROTO_ICMPV6,
    src: p.key.dst,
    dst: p.key.src,
  });
  return Buffer.concat([l2Header(f, p, true), ip, icmp, quote]);
}
