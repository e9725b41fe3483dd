// The packet fixtures of the steering program: {name, input frame, expected verdict, expected output
// frame, outcome}, built from the RFCs with test/steer/packets.ts against the test bed of setup.ts.
// Expected outputs are written out here (not taken from the model), so they check the model too.

import type { Outcome } from '../../model/steer.js';
import { addr16 } from '../../src/steer/addr.js';
import { hashWords } from '../../src/steer/hash.js';
import { encodeFlowKey, FAMILY_V4, FAMILY_V6, FLOW_LABEL_HASH_MASK } from '../../src/steer/layout.js';
import * as P from '../../src/steer/proto.js';
import {
  arpRequest,
  type EthOpts,
  eth,
  ethType,
  type FlowSpec,
  flowFrame,
  icmp4,
  icmp6,
  ipPacket,
  ipv4,
  ipv6,
  MAC_HOST,
  MAC_TOR,
  tcp,
  tunnel,
  u16,
  u32,
  udp,
} from './packets.js';
import { CLIENT4, CLIENT6, HOST4, HOST6, MTU, REMOTE4, REMOTE6, ROUTER4, ROUTER6, VIPS } from './setup.js';

export const HASH_SEED = 0x5eed1e55;

export interface Fixture {
  name: string;
  input: Buffer;
  verdict: number;
  output: Buffer;
  outcome: Outcome;
  recorded?: boolean; // a flow entry is written (default: only for steered, non-RST, non-ICMP)
}

const SWAPPED = { src: MAC_HOST, dst: MAC_TOR };
const swapped = (e: EthOpts): EthOpts => ({ ...e, ...SWAPPED });

/** The flow label the program puts on IP6-in-IP6: the flow hash of the (VIP-side) 5-tuple. */
export function flowLabel(src: string, dst: string, proto: number, sport: number, dport: number): number {
  const key = { src: addr16(src), dst: addr16(dst), sport, dport, proto, family: FAMILY_V6 };
  return hashWords(encodeFlowKey(key), HASH_SEED) & FLOW_LABEL_HASH_MASK;
}
void FAMILY_V4;

const protoNum = (f: FlowSpec): number => (f.proto === 'tcp' ? P.IPPROTO_TCP : P.IPPROTO_UDP);

/** IPIP / IP6-in-IP6 from this host to the remote host, as the program must emit it. */
export function encapsulated(inner: Buffer, family: 4 | 6, e: EthOpts, tos: number, label = 0): Buffer {
  const outer =
    family === 4
      ? ipv4({ src: HOST4, dst: REMOTE4, proto: P.IPPROTO_IPIP, flags: P.IPV4_DF, tos }, inner)
      : ipv6({ src: HOST6, dst: REMOTE6, nextHeader: P.IPPROTO_IPV6, tc: tos, label }, inner);
  return eth(ethType(family), outer, swapped(e));
}

function encapFlow(f: FlowSpec, e: EthOpts = {}): Buffer {
  const label = f.family === 6 ? flowLabel(f.src, f.dst, protoNum(f), f.sport, f.dport) : 0;
  return encapsulated(ipPacket(f), f.family, e, f.tos ?? 0, label);
}

const pass = (name: string, input: Buffer, outcome: Outcome, recorded?: boolean): Fixture => ({
  name,
  input,
  verdict: P.XDP_PASS,
  output: input,
  outcome,
  ...(recorded === undefined ? {} : { recorded }),
});

const tx = (name: string, input: Buffer, output: Buffer, outcome: Outcome = 'forward'): Fixture => ({
  name,
  input,
  verdict: P.XDP_TX,
  output,
  outcome,
});
const unrecorded = (f: Fixture): Fixture => ({ ...f, recorded: false });
/** An IP packet in a plain frame, expected back encapsulated toward the remote host. */
const forwardedIp = (name: string, family: 4 | 6, ip: Buffer, label = 0): Fixture =>
  tx(name, eth(ethType(family), ip), encapsulated(ip, family, {}, 0, label));

const drop = (name: string, input: Buffer, outcome: Outcome): Fixture => ({
  name,
  input,
  verdict: P.XDP_DROP,
  output: input,
  outcome,
});

const t4 = (dst: string, dport: number, extra: Partial<FlowSpec> = {}): FlowSpec => ({
  family: 4,
  proto: 'tcp',
  src: CLIENT4,
  dst,
  sport: 40000,
  dport,
  ...extra,
});
const t6 = (dst: string, dport: number, extra: Partial<FlowSpec> = {}): FlowSpec => ({
  family: 6,
  proto: 'tcp',
  src: CLIENT6,
  dst,
  sport: 40000,
  dport,
  ...extra,
});
const u4 = (dst: string, dport: number, extra: Partial<FlowSpec> = {}): FlowSpec =>
  t4(dst, dport, { proto: 'udp', ...extra });
const u6 = (dst: string, dport: number, extra: Partial<FlowSpec> = {}): FlowSpec =>
  t6(dst, dport, { proto: 'udp', ...extra });

const VLAN = { vlans: [{ vid: 100 }] };
const QINQ = { vlans: [{ tpid: P.ETH_P_8021AD, vid: 200 }, { vid: 100 }] };
const big = (n: number): Buffer => Buffer.alloc(n, 0xab);

function tooBig4(f: FlowSpec, e: EthOpts = {}): Buffer {
  const ip = ipPacket(f);
  const quote = ip.subarray(0, (ip[0]! & 0x0f) * 4 + 8);
  const msg = icmp4(P.ICMP_DEST_UNREACH, P.ICMP_FRAG_NEEDED, u16(0, MTU - P.IPV4_HLEN), quote);
  return eth(P.ETH_P_IP, ipv4({ src: f.dst, dst: f.src, proto: P.IPPROTO_ICMP }, msg), swapped(e));
}

function tooBig6(f: FlowSpec, e: EthOpts = {}): Buffer {
  const quote = ipPacket(f).subarray(0, P.ICMP6_QUOTE_MAX);
  const a = { family: 6 as const, src: f.dst, dst: f.src };
  const msg = icmp6(a, P.ICMP6_PACKET_TOO_BIG, 0, u32(MTU - P.IPV6_HLEN), quote);
  return eth(P.ETH_P_IPV6, ipv6({ src: f.dst, dst: f.src, nextHeader: P.IPPROTO_ICMPV6 }, msg), swapped(e));
}

/** An ICMP error from a router on the client's path, quoting a packet the VIP sent to the client. */
function icmpErrorAbout(f: FlowSpec, type: number, code: number, rest: Buffer): Buffer {
  const back = ipPacket({ ...f, src: f.dst, dst: f.src, sport: f.dport, dport: f.sport, flags: P.TCP_ACK });
  if (f.family === 4) {
    const msg = icmp4(type, code, rest, back.subarray(0, 28 + 20));
    return ipv4({ src: ROUTER4, dst: f.dst, proto: P.IPPROTO_ICMP }, msg);
  }
  const msg = icmp6({ family: 6, src: ROUTER6, dst: f.dst }, type, code, rest, back.subarray(0, 80));
  return ipv6({ src: ROUTER6, dst: f.dst, nextHeader: P.IPPROTO_ICMPV6 }, msg);
}

function fragments(): Fixture[] {
  const a4 = { family: 4 as const, src: CLIENT4, dst: VIPS.remoteUdp4.addr };
  const first4 = ipv4({ ...a4, proto: P.IPPROTO_UDP, flags: P.IPV4_MF, id: 7 }, udp(a4, 5353, 9999, big(64)));
  const later4 = ipv4({ ...a4, proto: P.IPPROTO_UDP, fragOffset: 9, id: 7 }, big(40));
  const tcpFrag = ipv4(
    { src: CLIENT4, dst: VIPS.local4.addr, proto: P.IPPROTO_TCP, fragOffset: 20, id: 9 },
    big(48),
  );
  const tcpFragRemote = ipv4(
    { src: CLIENT4, dst: VIPS.remote4.addr, proto: P.IPPROTO_TCP, flags: P.IPV4_MF, id: 9 },
    tcp({ family: 4, src: CLIENT4, dst: VIPS.remote4.addr }, 40000, 80, P.TCP_ACK, big(64)),
  );
  const a6 = { family: 6 as const, src: CLIENT6, dst: VIPS.remoteUdp6.addr };
  const frag6 = (offset: number, more: boolean, body: Buffer): Buffer =>
    ipv6({ ...a6, nextHeader: P.IPPROTO_UDP, frag: { offset, more, id: 0x1234 } }, body);
  const first6 = frag6(0, true, udp(a6, 5353, 9999, big(64)));
  const later6 = frag6(9, false, big(40));
  const label6 = flowLabel(CLIENT6, VIPS.remoteUdp6.addr, P.IPPROTO_UDP, 0, 0);
  return [
    forwardedIp('v4 first fragment (UDP, any-port VIP) steers on addresses', 4, first4),
    forwardedIp('v4 later fragment (no ports) goes the same way', 4, later4),
    pass(
      'v4 TCP fragment to a port VIP finds it via the fragment entry (local)',
      eth(P.ETH_P_IP, tcpFrag),
      'local',
      true,
    ),
    forwardedIp('v4 TCP first fragment to a remote port VIP', 4, tcpFragRemote),
    forwardedIp('v6 first fragment steers on addresses', 6, first6, label6),
    forwardedIp('v6 later fragment goes the same way', 6, later6, label6),
  ];
}

function decaps(): Fixture[] {
  const inner4 = ipPacket(t4(VIPS.local4.addr, 80));
  const inner6 = ipPacket(t6(VIPS.local6.addr, 80));
  const innerUdp4 = ipPacket(u4(VIPS.remoteUdp4.addr, 53));
  const nonVip4 = ipPacket(t4('192.0.2.99', 80));
  const decap = (name: string, family: 4 | 6, inner: Buffer, e: EthOpts = {}): Fixture => ({
    name,
    input: eth(
      ethType(family),
      tunnel(family, family === 4 ? REMOTE4 : REMOTE6, family === 4 ? HOST4 : HOST6, inner),
      e,
    ),
    verdict: P.XDP_PASS,
    output: eth(ethType(family), inner, e),
    outcome: 'decap',
  });
  return [
    decap('IPIP to this host with a VIP inside: decapsulated', 4, inner4),
    decap('IP6-in-IP6 to this host with a VIP inside: decapsulated', 6, inner6),
    decap('IPIP decapsulation keeps the VLAN tag', 4, inner4, VLAN),
    decap(
      'IPIP with a VIP inside whose ring is remote: still decapsulated (never re-forwarded)',
      4,
      innerUdp4,
    ),
    pass(
      'IPIP to this host with a non-VIP inside: untouched',
      eth(P.ETH_P_IP, tunnel(4, REMOTE4, HOST4, nonVip4)),
      'non-vip',
    ),
    pass(
      'IPIP to another address: untouched',
      eth(P.ETH_P_IP, tunnel(4, REMOTE4, '198.51.100.9', inner4)),
      'non-vip',
    ),
    pass(
      'IP6-in-IP6 to another address: untouched',
      eth(P.ETH_P_IPV6, tunnel(6, REMOTE6, '2001:db8:100::9', inner6)),
      'non-vip',
    ),
  ];
}

function icmpErrors(): Fixture[] {
  const r4 = t4(VIPS.remote4.addr, 80);
  const r6 = t6(VIPS.remote6.addr, 80);
  const l4 = t4(VIPS.local4.addr, 80);
  const e4 = icmpErrorAbout(r4, P.ICMP_DEST_UNREACH, P.ICMP_FRAG_NEEDED, u16(0, 1400));
  const e6 = icmpErrorAbout(r6, P.ICMP6_PACKET_TOO_BIG, 0, u32(1400));
  const te4 = icmpErrorAbout(r4, P.ICMP_TIME_EXCEEDED, 0, u32(0));
  const udp4 = icmpErrorAbout(
    u4(VIPS.remoteUdp4.addr, 5353),
    P.ICMP_DEST_UNREACH,
    P.ICMP_PORT_UNREACH,
    u32(0),
  );
  const label6 = flowLabel(CLIENT6, VIPS.remote6.addr, P.IPPROTO_TCP, 40000, 80);
  const nonVip = icmpErrorAbout(t4('192.0.2.99', 80), P.ICMP_DEST_UNREACH, P.ICMP_FRAG_NEEDED, u16(0, 1400));
  return [
    unrecorded(forwardedIp('ICMP frag-needed about a remote-owned VIP flow goes to the owner', 4, e4)),
    unrecorded(forwardedIp('ICMP time-exceeded about a VIP flow goes to the owner', 4, te4)),
    unrecorded(forwardedIp('ICMPv6 packet-too-big about a VIP flow goes to the owner', 6, e6, label6)),
    pass(
      'ICMP error about a locally owned VIP flow: passed',
      eth(P.ETH_P_IP, icmpErrorAbout(l4, 3, 4, u16(0, 1400))),
      'local',
      false,
    ),
    pass('ICMP error about a non-VIP flow: untouched', eth(P.ETH_P_IP, nonVip), 'non-vip'),
    unrecorded(
      forwardedIp('ICMP port-unreachable quoting a UDP datagram of a VIP flow goes to the owner', 4, udp4),
    ),
  ];
}

export function fixtures(): Fixture[] {
  const vip4 = VIPS.remote4.addr;
  const vip6 = VIPS.remote6.addr;
  const padded = Buffer.concat([flowFrame(u4(VIPS.remoteUdp4.addr, 7)), Buffer.alloc(4)]); // 60-byte frame, padded
  const options = ipv4(
    { src: CLIENT4, dst: vip4, proto: P.IPPROTO_TCP, options: Buffer.from([1, 1, 1, 0]) },
    tcp({ family: 4, src: CLIENT4, dst: vip4 }, 40001, 80, P.TCP_SYN),
  );
  const echo4 = ipv4(
    { src: CLIENT4, dst: vip4, proto: P.IPPROTO_ICMP },
    icmp4(P.ICMP_ECHO_REQUEST, 0, u32(1), big(8)),
  );
  const ns6 = ipv6(
    { src: CLIENT6, dst: vip6, nextHeader: P.IPPROTO_ICMPV6, hopLimit: 255 },
    icmp6({ family: 6, src: CLIENT6, dst: vip6 }, P.ICMP6_NEIGHBOR_SOLICIT, 0, u32(0), addr16(vip6)),
  );
  const hbh6 = ipv6(
    { src: CLIENT6, dst: vip6, nextHeader: 0 },
    Buffer.concat([
      Buffer.from([P.IPPROTO_TCP, 0, 1, 4, 0, 0, 0, 0]),
      tcp({ family: 6, src: CLIENT6, dst: vip6 }, 40000, 80, P.TCP_SYN),
    ]),
  );
  const truncated4 = flowFrame(t4(vip4, 80)).subarray(0, 14 + 12);
  const shortTcp4 = (() => {
    const f = flowFrame(t4(vip4, 80));
    return f.subarray(0, 14 + 20 + 8);
  })();
  const lying4 = Buffer.from(flowFrame(t4(vip4, 80)));
  lying4.writeUInt16BE(200, 14 + 2); // total length beyond the frame
  const truncated6 = flowFrame(t6(vip6, 80)).subarray(0, 14 + 30);
  const lying6 = Buffer.from(flowFrame(t6(vip6, 80)));
  lying6.writeUInt16BE(400, 14 + 4); // payload length beyond the frame
  const badVersion = Buffer.from(flowFrame(t4(vip4, 80)));
  badVersion[14] = 0x55;
  return [
    pass('ARP request: untouched', arpRequest(CLIENT4, vip4), 'not-ip'),
    pass('ICMPv6 neighbour solicitation for a VIP: untouched', eth(P.ETH_P_IPV6, ns6), 'not-ip'),
    pass('ICMP echo to a VIP: untouched (the kernel answers)', eth(P.ETH_P_IP, echo4), 'not-ip'),
    pass('IPv6 with a hop-by-hop header: untouched', eth(P.ETH_P_IPV6, hbh6), 'not-ip'),
    pass('v4 TCP to a non-VIP: untouched', flowFrame(t4('192.0.2.99', 80)), 'non-vip'),
    pass('v6 TCP to a non-VIP: untouched', flowFrame(t6('2001:db8::99', 80)), 'non-vip'),
    pass(
      'v4 TCP to a VIP address on another port: untouched',
      flowFrame(t4(VIPS.local4.addr, 22)),
      'non-vip',
    ),
    pass('v4 UDP to a TCP-only VIP: untouched', flowFrame(u4(VIPS.local4.addr, 80)), 'non-vip'),
    pass('v4 truncated IP header: untouched, counted', truncated4, 'parse-fail'),
    pass('v4 truncated TCP header: untouched, counted', shortTcp4, 'parse-fail'),
    pass('v4 total length beyond the frame: untouched, counted', lying4, 'parse-fail'),
    pass('IP version 5 in an IPv4 frame: untouched, counted', badVersion, 'parse-fail'),
    pass(
      'v4 TCP SYN to a locally owned VIP: passed, flow recorded',
      flowFrame(t4(VIPS.local4.addr, 80)),
      'local',
      true,
    ),
    pass('v6 TCP SYN to a locally owned VIP: passed', flowFrame(t6(VIPS.local6.addr, 80)), 'local', true),
    pass('v4 local VIP behind a VLAN tag', flowFrame(t4(VIPS.local4.addr, 80), VLAN), 'local', true),
    pass('v6 local VIP behind QinQ tags', flowFrame(t6(VIPS.local6.addr, 80), QINQ), 'local', true),
    tx('v4 TCP SYN to a remote VIP: IPIP to its host', flowFrame(t4(vip4, 80)), encapFlow(t4(vip4, 80))),
    tx(
      'v6 TCP SYN to a remote VIP: IP6-in-IP6 to its host',
      flowFrame(t6(vip6, 80)),
      encapFlow(t6(vip6, 80)),
    ),
    tx(
      'v4 TCP data to a remote VIP',
      flowFrame(t4(vip4, 80, { flags: P.TCP_ACK, payload: big(100) })),
      encapFlow(t4(vip4, 80, { flags: P.TCP_ACK, payload: big(100) })),
    ),
    tx(
      'v4 UDP to an any-port VIP',
      flowFrame(u4(VIPS.remoteUdp4.addr, 12345)),
      encapFlow(u4(VIPS.remoteUdp4.addr, 12345)),
    ),
    tx(
      'v6 UDP to an any-port VIP',
      flowFrame(u6(VIPS.remoteUdp6.addr, 443)),
      encapFlow(u6(VIPS.remoteUdp6.addr, 443)),
    ),
    tx(
      'v4 remote VIP behind a VLAN tag keeps the tag',
      flowFrame(t4(vip4, 80), VLAN),
      encapFlow(t4(vip4, 80), VLAN),
    ),
    tx(
      'v6 remote VIP behind QinQ keeps both tags',
      flowFrame(t6(vip6, 80), QINQ),
      encapFlow(t6(vip6, 80), QINQ),
    ),
    tx(
      'v4 TOS is copied to the outer header',
      flowFrame(t4(vip4, 80, { tos: 0xb8 })),
      encapFlow(t4(vip4, 80, { tos: 0xb8 })),
    ),
    tx(
      'v6 traffic class is copied to the outer header',
      flowFrame(t6(vip6, 80, { tos: 0x28 })),
      encapFlow(t6(vip6, 80, { tos: 0x28 })),
    ),
    tx('v4 with IP options', eth(P.ETH_P_IP, options), encapsulated(options, 4, {}, 0)),
    tx(
      'v4 Ethernet padding is carried along',
      padded,
      eth(
        P.ETH_P_IP,
        Buffer.concat([
          ipv4(
            { src: HOST4, dst: REMOTE4, proto: P.IPPROTO_IPIP, flags: P.IPV4_DF },
            ipPacket(u4(VIPS.remoteUdp4.addr, 7)),
          ),
          Buffer.alloc(4),
        ]),
        SWAPPED,
      ),
    ),
    {
      ...tx(
        'v4 TCP RST to a remote VIP: forwarded, not recorded',
        flowFrame(t4(vip4, 80, { flags: P.TCP_RST })),
        encapFlow(t4(vip4, 80, { flags: P.TCP_RST })),
      ),
      recorded: false,
    },
    {
      ...tx(
        'v6 TCP RST: forwarded, not recorded',
        flowFrame(t6(vip6, 80, { flags: P.TCP_RST | P.TCP_ACK })),
        encapFlow(t6(vip6, 80, { flags: P.TCP_RST | P.TCP_ACK })),
      ),
      recorded: false,
    },
    {
      ...pass(
        'v4 TCP RST to a local VIP: passed, not recorded',
        flowFrame(t4(VIPS.local4.addr, 80, { flags: P.TCP_RST })),
        'local',
        false,
      ),
    },
    tx(
      'v4 exactly the MTU once encapsulated: forwarded',
      flowFrame(t4(vip4, 80, { payload: big(MTU - 60) })),
      encapFlow(t4(vip4, 80, { payload: big(MTU - 60) })),
    ),
    tx(
      'v6 exactly the MTU once encapsulated: forwarded',
      flowFrame(t6(vip6, 80, { payload: big(MTU - 100) })),
      encapFlow(t6(vip6, 80, { payload: big(MTU - 100) })),
    ),
    tx(
      'v4 one byte over the MTU: ICMP fragmentation needed back',
      flowFrame(t4(vip4, 80, { payload: big(MTU - 59) })),
      tooBig4(t4(vip4, 80, { payload: big(MTU - 59) })),
      'too-big',
    ),
    tx(
      'v4 UDP over the MTU behind a VLAN: frag-needed keeps the tag',
      flowFrame(u4(VIPS.remoteUdp4.addr, 9, { payload: big(1600) }), VLAN),
      tooBig4(u4(VIPS.remoteUdp4.addr, 9, { payload: big(1600) }), VLAN),
      'too-big',
    ),
    tx(
      'v6 one byte over the MTU: ICMPv6 packet too big back',
      flowFrame(t6(vip6, 80, { payload: big(MTU - 99) })),
      tooBig6(t6(vip6, 80, { payload: big(MTU - 99) })),
      'too-big',
    ),
    tx(
      'v6 UDP far over the MTU',
      flowFrame(u6(VIPS.remoteUdp6.addr, 9, { payload: big(3000) })),
      tooBig6(u6(VIPS.remoteUdp6.addr, 9, { payload: big(3000) })),
      'too-big',
    ),
    pass(
      'v4 over the MTU but locally owned: passed (no encapsulation)',
      flowFrame(t4(VIPS.local4.addr, 80, { payload: big(1600) })),
      'local',
      true,
    ),
    drop(
      'v4 VIP whose service has no instance: dropped, counted',
      flowFrame(t4(VIPS.empty4.addr, 443)),
      'drop-no-instance',
    ),
    pass('v6 truncated IPv6 header: untouched, counted', truncated6, 'parse-fail'),
    pass('v6 payload length beyond the frame: untouched, counted', lying6, 'parse-fail'),
    drop(
      'v6 VIP whose service has no instance: dropped, counted',
      flowFrame(t6(VIPS.empty6.addr, 443)),
      'drop-no-instance',
    ),
    drop(
      'v4 VIP owned by an IPv6-only host: dropped, counted',
      flowFrame(u4(VIPS.v6only4.addr, 53)),
      'drop-no-address',
    ),
    ...fragments(),
    ...decaps(),
    ...icmpErrors(),
  ];
}
