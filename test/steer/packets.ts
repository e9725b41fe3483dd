// Frame builders for the steering tests and benchmark: Ethernet (+ VLAN tags), IPv4 (options,
// fragments), IPv6 (+ fragment header), TCP, UDP, ICMP, ICMPv6, IPIP / IP6-in-IP6, ARP — with correct
// checksums (RFC 1071; pseudo-headers of RFC 793 / RFC 8200). Written from the RFCs, independent of
// src/steer/rewrite.ts, so fixtures built here check the model as well as the program.

import { checksum, pseudo4, pseudo6 } from '../../model/csum.js';
import { ipv4Bytes, ipv6Bytes } from '../../src/steer/addr.js';
import * as P from '../../src/steer/proto.js';

export const MAC_TOR = Buffer.from('02000000000a', 'hex');
export const MAC_HOST = Buffer.from('02000000000b', 'hex');

export interface EthOpts {
  src?: Buffer;
  dst?: Buffer;
  vlans?: { tpid?: number; vid: number }[];
}

export function eth(etherType: number, payload: Buffer, o: EthOpts = {}): Buffer {
  const tags = (o.vlans ?? []).map((v) => {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(v.tpid ?? P.ETH_P_8021Q, 0);
    t.writeUInt16BE(v.vid, 2);
    return t;
  });
  const head = Buffer.concat([o.dst ?? MAC_HOST, o.src ?? MAC_TOR]);
  const type = Buffer.alloc(2);
  type.writeUInt16BE(etherType);
  // each tag is [TPID, TCI]; the ethertype field of the frame is the first TPID
  const chain: Buffer[] = [];
  if (tags.length === 0) chain.push(type);
  else {
    chain.push(tags[0]!.subarray(0, 2));
    for (let i = 0; i < tags.length; i++) {
      chain.push(tags[i]!.subarray(2, 4));
      chain.push(i + 1 < tags.length ? tags[i + 1]!.subarray(0, 2) : type);
    }
  }
  return Buffer.concat([head, ...chain, payload]);
}

export interface Ip4Opts {
  src: string;
  dst: string;
  proto: number;
  tos?: number;
  ttl?: number;
  id?: number;
  flags?: number; // IPV4_DF / IPV4_MF bits
  fragOffset?: number; // in 8-byte units
  options?: Buffer; // multiple of 4 bytes
}

export function ipv4(o: Ip4Opts, payload: Buffer): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(P.IPV4_HLEN + opts.length);
  h[0] = 0x40 | (h.length / 4);
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(h.length + payload.length, 2);
  h.writeUInt16BE(o.id ?? 0, 4);
  h.writeUInt16BE((o.flags ?? 0) | (o.fragOffset ?? 0), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  ipv4Bytes(o.src).copy(h, 12);
  ipv4Bytes(o.dst).copy(h, 16);
  opts.copy(h, P.IPV4_HLEN);
  h.writeUInt16BE(checksum(h), 10);
  return Buffer.concat([h, payload]);
}

export interface Ip6Opts {
  src: string;
  dst: string;
  nextHeader: number;
  tc?: number;
  label?: number;
  hopLimit?: number;
  frag?: { offset: number; more: boolean; id: number }; // adds a fragment header
}

export function ipv6(o: Ip6Opts, payload: Buffer): Buffer {
  const h = Buffer.alloc(P.IPV6_HLEN);
  let body = payload;
  let nh = o.nextHeader;
  if (o.frag) {
    const f = Buffer.alloc(P.IPV6_FRAG_HLEN);
    f[0] = o.nextHeader;
    f.writeUInt16BE((o.frag.offset << 3) | (o.frag.more ? 1 : 0), 2);
    f.writeUInt32BE(o.frag.id, 4);
    body = Buffer.concat([f, payload]);
    nh = P.IPV6_NEXTHDR_FRAG;
  }
  h.writeUInt32BE(((6 << 28) | ((o.tc ?? 0) << 20) | ((o.label ?? 0) & 0xfffff)) >>> 0, 0);
  h.writeUInt16BE(body.length, 4);
  h[6] = nh;
  h[7] = o.hopLimit ?? 64;
  ipv6Bytes(o.src).copy(h, 8);
  ipv6Bytes(o.dst).copy(h, 24);
  return Buffer.concat([h, body]);
}

type Addrs = { family: 4 | 6; src: string; dst: string };

function l4Checksum(a: Addrs, proto: number, seg: Buffer): number {
  const ph =
    a.family === 4
      ? pseudo4(ipv4Bytes(a.src), ipv4Bytes(a.dst), seg.length, proto)
      : pseudo6(ipv6Bytes(a.src), ipv6Bytes(a.dst), seg.length, proto);
  return checksum(ph, seg);
}

export function tcp(
  a: Addrs,
  sport: number,
  dport: number,
  flags: number,
  payload: Buffer = Buffer.alloc(0),
  seq = 0x01020304,
): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h.writeUInt32BE(flags & P.TCP_ACK ? 0x0a0b0c0d : 0, 8);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(0xfaf0, 14);
  const seg = Buffer.concat([h, payload]);
  seg.writeUInt16BE(l4Checksum(a, P.IPPROTO_TCP, seg), 16);
  return seg;
}

export function udp(a: Addrs, sport: number, dport: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const seg = Buffer.alloc(8 + payload.length);
  seg.writeUInt16BE(sport, 0);
  seg.writeUInt16BE(dport, 2);
  seg.writeUInt16BE(seg.length, 4);
  payload.copy(seg, 8);
  seg.writeUInt16BE(l4Checksum(a, P.IPPROTO_UDP, seg) || 0xffff, 6);
  return seg;
}

/** ICMP (IPv4) message: type, code, 4 bytes of "rest of header", body. */
export function icmp4(type: number, code: number, rest: Buffer, body: Buffer): Buffer {
  const m = Buffer.concat([Buffer.from([type, code, 0, 0]), rest, body]);
  m.writeUInt16BE(checksum(m), 2);
  return m;
}

/** ICMPv6 message (checksum over the pseudo-header of src → dst). */
export function icmp6(a: Addrs, type: number, code: number, rest: Buffer, body: Buffer): Buffer {
  const m = Buffer.concat([Buffer.from([type, code, 0, 0]), rest, body]);
  m.writeUInt16BE(l4Checksum(a, P.IPPROTO_ICMPV6, m), 2);
  return m;
}

export const u16 = (...v: number[]): Buffer => Buffer.from(v.flatMap((x) => [x >> 8, x & 0xff]));
export const u32 = (v: number): Buffer =>
  Buffer.from([v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);

export interface FlowSpec extends Addrs {
  proto: 'tcp' | 'udp';
  sport: number;
  dport: number;
  flags?: number; // TCP flags (default SYN)
  seq?: number; // TCP sequence number (default 0x01020304)
  payload?: Buffer;
  tos?: number;
}

/** The IP packet (no Ethernet) of a TCP/UDP flow. */
export function ipPacket(f: FlowSpec): Buffer {
  const seg =
    f.proto === 'tcp'
      ? tcp(f, f.sport, f.dport, f.flags ?? P.TCP_SYN, f.payload, f.seq)
      : udp(f, f.sport, f.dport, f.payload);
  const proto = f.proto === 'tcp' ? P.IPPROTO_TCP : P.IPPROTO_UDP;
  return f.family === 4
    ? ipv4({ src: f.src, dst: f.dst, proto, tos: f.tos ?? 0 }, seg)
    : ipv6({ src: f.src, dst: f.dst, nextHeader: proto, tc: f.tos ?? 0 }, seg);
}

export const ethType = (family: 4 | 6): number => (family === 4 ? P.ETH_P_IP : P.ETH_P_IPV6);

/** A whole frame of a TCP/UDP flow. */
export function flowFrame(f: FlowSpec, e: EthOpts = {}): Buffer {
  return eth(ethType(f.family), ipPacket(f), e);
}

/** An IP packet tunnelled from `outerSrc` to `outerDst` (IPIP or IP6-in-IP6, by the inner family). */
export function tunnel(family: 4 | 6, outerSrc: string, outerDst: string, inner: Buffer, tos = 0): Buffer {
  return family === 4
    ? ipv4({ src: outerSrc, dst: outerDst, proto: P.IPPROTO_IPIP, flags: P.IPV4_DF, tos }, inner)
    : ipv6({ src: outerSrc, dst: outerDst, nextHeader: P.IPPROTO_IPV6, tc: tos }, inner);
}

/** An ARP request (RFC 826) for `target` from `sender`. */
export function arpRequest(sender: string, target: string): Buffer {
  const a = Buffer.alloc(28);
  a.writeUInt16BE(1, 0); // hardware type Ethernet
  a.writeUInt16BE(P.ETH_P_IP, 2);
  a[4] = 6;
  a[5] = 4;
  a.writeUInt16BE(1, 6); // request
  MAC_TOR.copy(a, 8);
  ipv4Bytes(sender).copy(a, 14);
  ipv4Bytes(target).copy(a, 24);
  return eth(P.ETH_P_ARP, a, { dst: Buffer.alloc(6, 0xff) });
}
