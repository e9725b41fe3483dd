// The packet cases of rings.root.test.ts: the two-ring services and VIPs beside the standard ones
// of setup.ts, and per case the input frame, the expected verdict and frame (written out here, not taken
// from the model), the ring kind of the miss and the second-chance outcome.

import type { SecondChance } from '../../model/steer.js';
import {
  RING_KIND_ESTABLISHED,
  RING_KIND_NEW,
  SECOND_CHANCE_ID4,
  SECOND_CHANCE_LABEL6,
} from '../../src/steer/layout.js';
import * as P from '../../src/steer/proto.js';
import type { VipSpec } from '../../src/steer/vips.js';
import { flowLabel } from './fixtures.js';
import {
  eth,
  ethType,
  type FlowSpec,
  flowFrame,
  ipPacket,
  ipv4,
  ipv6,
  MAC_HOST,
  MAC_TOR,
} from './packets.js';
import { CLIENT4, CLIENT6, HOST4, HOST6, REMOTE4, REMOTE6 } from './setup.js';

// services 4..6 beside the standard test bed's one-ring services 0..3
export const SVC_EST_HERE = 4; // new → REMOTE, established → LOCAL
export const SVC_NEW_HERE = 5; // new → LOCAL, established → REMOTE
export const SVC_BOTH_HERE = 6; // both → LOCAL
export const SVC_PREV_REMOTE = 7; // both → LOCAL now; the established ring they replaced → REMOTE
export const SVC_PREV_NEW_REMOTE = 8; // both → LOCAL now, and the established ring before; the new one before → REMOTE
export const V = {
  estHere4: { vipId: 20, serviceId: SVC_EST_HERE, addr: '192.0.2.20', proto: 'tcp', port: 80 },
  estHereUdp4: { vipId: 21, serviceId: SVC_EST_HERE, addr: '192.0.2.20', proto: 'udp', port: 53 },
  newHere4: { vipId: 22, serviceId: SVC_NEW_HERE, addr: '192.0.2.21', proto: 'tcp', port: 80 },
  bothHere4: { vipId: 23, serviceId: SVC_BOTH_HERE, addr: '192.0.2.22', proto: 'tcp', port: 80 },
  estHere6: { vipId: 24, serviceId: SVC_EST_HERE, addr: '2001:db8::20', proto: 'tcp', port: 80 },
  newHere6: { vipId: 25, serviceId: SVC_NEW_HERE, addr: '2001:db8::21', proto: 'tcp', port: 80 },
  prevRemote4: { vipId: 27, serviceId: SVC_PREV_REMOTE, addr: '192.0.2.23', proto: 'tcp', port: 80 },
  prevNewRemote4: { vipId: 28, serviceId: SVC_PREV_NEW_REMOTE, addr: '192.0.2.24', proto: 'tcp', port: 80 },
} as const satisfies Record<string, VipSpec>;

export const ACK = P.TCP_ACK;
export const t = (family: 4 | 6, dst: string, dport: number, flags: number, sport = 40000): FlowSpec => ({
  family,
  proto: 'tcp',
  src: family === 4 ? CLIENT4 : CLIENT6,
  dst,
  sport,
  dport,
  flags,
});
const SWAPPED = { src: MAC_HOST, dst: MAC_TOR };

/** The frame re-sent to the remote host: IPIP / IP6-in-IP6 from this host, marked or not. */
export function toRemote(f: FlowSpec, marked: boolean): Buffer {
  const inner = ipPacket(f);
  if (f.family === 4) {
    const id = marked ? SECOND_CHANCE_ID4 : 0;
    const outer = ipv4({ src: HOST4, dst: REMOTE4, proto: P.IPPROTO_IPIP, flags: P.IPV4_DF, id }, inner);
    return eth(ethType(4), outer, SWAPPED);
  }
  const label =
    flowLabel(f.src, f.dst, P.IPPROTO_TCP, f.sport, f.dport) | (marked ? SECOND_CHANCE_LABEL6 : 0);
  const outer = ipv6({ src: HOST6, dst: REMOTE6, nextHeader: P.IPPROTO_IPV6, label }, inner);
  return eth(ethType(6), outer, SWAPPED);
}

/** The flow tunnelled here from the remote host, marked or not. */
function fromRemote(f: FlowSpec, marked: boolean): Buffer {
  const inner = ipPacket(f);
  if (f.family === 4) {
    const id = marked ? SECOND_CHANCE_ID4 : 0;
    return eth(
      ethType(4),
      ipv4({ src: REMOTE4, dst: HOST4, proto: P.IPPROTO_IPIP, flags: P.IPV4_DF, id }, inner),
    );
  }
  const label = marked ? SECOND_CHANCE_LABEL6 : 0;
  return eth(ethType(6), ipv6({ src: REMOTE6, dst: HOST6, nextHeader: P.IPPROTO_IPV6, label }, inner));
}

export interface Case {
  name: string;
  input: () => Buffer;
  verdict: number;
  output: () => Buffer;
  kind?: number; // ring kind of the miss
  sc?: SecondChance; // second-chance counter that moves
  /** The socket found was an older connection's (sequence outside its window): sc_stale moves too. */
  stale?: boolean;
  vipId: number;
}

export const SC_FIELD = {
  forwarded: 'sc_forwarded',
  used: 'sc_used',
  socket: 'sc_socket',
  none: 'sc_none',
} as const;

/** The real 127.0.0.1 connection the socket cases use: listener port, client port, and the server
 * socket's next expected sequence number (rcv_nxt). */
export interface RealConn {
  port: number;
  cport: number;
  rcvNxt: number;
  /** A second connection that the server closed first: its socket here is in TIME-WAIT. */
  tw: { cport: number; rcvNxt: number };
}

/** A sequence number of a later connection on the same ports: RFC 6528 puts it ~16M a second on. */
export const LATER_SEQ_OFFSET = 0x0100_0000 * 5;

/** The cases; `conn()` gives the real 127.0.0.1 connection once open. */
export const cases = (conn: () => RealConn): Case[] => {
  const synEst = t(4, V.estHere4.addr, 80, P.TCP_SYN);
  const ackEst = t(4, V.estHere4.addr, 80, ACK);
  const ackEst6 = t(6, V.estHere6.addr, 80, ACK);
  const ackNew = t(4, V.newHere4.addr, 80, ACK);
  const ackNew6 = t(6, V.newHere6.addr, 80, ACK | 0x08);
  const synNew = t(4, V.newHere4.addr, 80, P.TCP_SYN);
  const ackBoth = t(4, V.bothHere4.addr, 80, ACK);
  const ackPrev = t(4, V.prevRemote4.addr, 80, ACK);
  const ackPrevNew = t(4, V.prevNewRemote4.addr, 80, ACK);
  const udpEst: FlowSpec = {
    family: 4,
    proto: 'udp',
    src: CLIENT4,
    dst: V.estHereUdp4.addr,
    sport: 5353,
    dport: 53,
  };
  const plain = (f: FlowSpec) => () => flowFrame(f);
  const id = (f: FlowSpec) => () => flowFrame(f);
  const tx = P.XDP_TX;
  const pass = P.XDP_PASS;
  const lo = (flags: number, sport: number, seq = conn().rcvNxt): FlowSpec => ({
    ...t(4, '127.0.0.1', conn().port, flags, sport),
    src: '127.0.0.1',
    seq,
  });
  const later = (): number => (conn().rcvNxt + LATER_SEQ_OFFSET) >>> 0;
  return [
    {
      name: 'v4 SYN reads the new ring: forwarded unmarked to its owner',
      input: plain(synEst),
      verdict: tx,
      output: () => toRemote(synEst, false),
      kind: RING_KIND_NEW,
      vipId: 20,
    },
    {
      name: 'v4 UDP first packet reads the new ring',
      input: plain(udpEst),
      verdict: tx,
      output: () => toRemote(udpEst, false),
      kind: RING_KIND_NEW,
      vipId: 21,
    },
    {
      name: 'v4 SYN whose new-ring owner is here: passed, no socket check',
      input: plain(synNew),
      verdict: pass,
      output: id(synNew),
      kind: RING_KIND_NEW,
      vipId: 22,
    },
    {
      name: 'v4 non-SYN miss reads the established ring: forwarded unmarked, no socket check',
      input: plain(ackNew),
      verdict: tx,
      output: () => toRemote(ackNew, false),
      kind: RING_KIND_ESTABLISHED,
      vipId: 22,
    },
    {
      name: 'v6 non-SYN miss reads the established ring',
      input: plain(ackNew6),
      verdict: tx,
      output: () => toRemote(ackNew6, false),
      kind: RING_KIND_ESTABLISHED,
      vipId: 25,
    },
    {
      name: 'v4 non-SYN miss owned here, no socket: second chance to the new ring, id-marked',
      input: plain(ackEst),
      verdict: tx,
      output: () => toRemote(ackEst, true),
      kind: RING_KIND_ESTABLISHED,
      sc: 'forwarded',
      vipId: 20,
    },
    {
      name: 'v6 non-SYN miss owned here, no socket: second chance, flow-label-marked',
      input: plain(ackEst6),
      verdict: tx,
      output: () => toRemote(ackEst6, true),
      kind: RING_KIND_ESTABLISHED,
      sc: 'forwarded',
      vipId: 24,
    },
    {
      name: 'v4 non-SYN miss, both rings here, no socket: passed (no other owner)',
      input: plain(ackBoth),
      verdict: pass,
      output: id(ackBoth),
      kind: RING_KIND_ESTABLISHED,
      sc: 'none',
      vipId: 23,
    },
    {
      name: 'v4 non-SYN miss, both live rings here, no socket: second chance to the previous established ring',
      input: plain(ackPrev),
      verdict: tx,
      output: () => toRemote(ackPrev, true),
      kind: RING_KIND_ESTABLISHED,
      sc: 'forwarded',
      vipId: 27,
    },
    {
      name: 'v4 non-SYN miss, every ring here but the new ring before: second chance to its owner',
      input: plain(ackPrevNew),
      verdict: tx,
      output: () => toRemote(ackPrevNew, true),
      kind: RING_KIND_ESTABLISHED,
      sc: 'forwarded',
      vipId: 28,
    },
    {
      name: 'v4 non-SYN miss with a real socket here: passed',
      input: () => flowFrame(lo(ACK, conn().cport)),
      verdict: pass,
      output: () => flowFrame(lo(ACK, conn().cport)),
      kind: RING_KIND_ESTABLISHED,
      sc: 'socket',
      vipId: 26,
    },
    {
      name: 'v4 non-SYN miss, a real socket here just behind its window (a retransmission): passed',
      input: () => flowFrame(lo(ACK, conn().cport, (conn().rcvNxt - 4096) >>> 0)),
      verdict: pass,
      output: () => flowFrame(lo(ACK, conn().cport, (conn().rcvNxt - 4096) >>> 0)),
      kind: RING_KIND_ESTABLISHED,
      sc: 'socket',
      vipId: 26,
    },
    {
      name: "v4 non-SYN miss, the socket here is an older connection's (sequence far outside its window): second chance",
      input: () => flowFrame(lo(ACK, conn().cport, later())),
      verdict: tx,
      output: () => toRemote(lo(ACK, conn().cport, later()), true),
      kind: RING_KIND_ESTABLISHED,
      sc: 'forwarded',
      stale: true,
      vipId: 26,
    },
    {
      name: 'v4 non-SYN miss, a TIME-WAIT socket here that the segment fits (a last ACK again): passed',
      input: () => flowFrame(lo(ACK, conn().tw.cport, conn().tw.rcvNxt)),
      verdict: pass,
      output: () => flowFrame(lo(ACK, conn().tw.cport, conn().tw.rcvNxt)),
      kind: RING_KIND_ESTABLISHED,
      sc: 'socket',
      vipId: 26,
    },
    {
      name: "v4 non-SYN miss, the TIME-WAIT socket here is an older connection's: second chance",
      input: () => flowFrame(lo(ACK, conn().tw.cport, (conn().tw.rcvNxt + LATER_SEQ_OFFSET) >>> 0)),
      verdict: tx,
      output: () => toRemote(lo(ACK, conn().tw.cport, (conn().tw.rcvNxt + LATER_SEQ_OFFSET) >>> 0), true),
      kind: RING_KIND_ESTABLISHED,
      sc: 'forwarded',
      stale: true,
      vipId: 26,
    },
    {
      name: 'v4 non-SYN miss matching only a listener: second chance (a listener is no socket)',
      input: () => flowFrame(lo(ACK, 1)),
      verdict: tx,
      output: () => toRemote(lo(ACK, 1), true),
      kind: RING_KIND_ESTABLISHED,
      sc: 'forwarded',
      vipId: 26,
    },
    {
      name: 'v4 decapsulated non-SYN, established owner here, no socket: re-sent marked to the new ring',
      input: () => fromRemote(ackEst, false),
      verdict: tx,
      output: () => toRemote(ackEst, true),
      sc: 'forwarded',
      vipId: 20,
    },
    {
      name: 'v6 decapsulated non-SYN, no socket: re-sent marked',
      input: () => fromRemote(ackEst6, false),
      verdict: tx,
      output: () => toRemote(ackEst6, true),
      sc: 'forwarded',
      vipId: 24,
    },
    {
      name: 'v4 decapsulated non-SYN, new owner here: re-sent marked to the established ring',
      input: () => fromRemote(ackNew, false),
      verdict: tx,
      output: () => toRemote(ackNew, true),
      sc: 'forwarded',
      vipId: 22,
    },
    {
      name: 'v4 decapsulated marked non-SYN, no socket: chance used, decapsulated and passed',
      input: () => fromRemote(ackEst, true),
      verdict: pass,
      output: plain(ackEst),
      sc: 'used',
      vipId: 20,
    },
    {
      name: 'v6 decapsulated marked non-SYN: chance used, passed',
      input: () => fromRemote(ackEst6, true),
      verdict: pass,
      output: plain(ackEst6),
      sc: 'used',
      vipId: 24,
    },
    {
      name: 'v4 decapsulated SYN: passed, no socket check',
      input: () => fromRemote(synEst, false),
      verdict: pass,
      output: plain(synEst),
      vipId: 20,
    },
    {
      name: 'v4 decapsulated non-SYN, both rings here: passed (no other owner)',
      input: () => fromRemote(ackBoth, false),
      verdict: pass,
      output: plain(ackBoth),
      sc: 'none',
      vipId: 23,
    },
    {
      name: 'v4 decapsulated non-SYN, both live rings here: re-sent marked to the previous established ring',
      input: () => fromRemote(ackPrev, false),
      verdict: tx,
      output: () => toRemote(ackPrev, true),
      sc: 'forwarded',
      vipId: 27,
    },
    {
      name: 'v4 decapsulated non-SYN, every ring here but the new ring before: re-sent marked to its owner',
      input: () => fromRemote(ackPrevNew, false),
      verdict: tx,
      output: () => toRemote(ackPrevNew, true),
      sc: 'forwarded',
      vipId: 28,
    },
    {
      name: 'v4 decapsulated non-SYN with a real socket here: passed',
      input: () => fromRemote(lo(ACK, conn().cport), false),
      verdict: pass,
      output: () => flowFrame(lo(ACK, conn().cport)),
      sc: 'socket',
      vipId: 26,
    },
    {
      name: "v4 decapsulated non-SYN, the socket here an older connection's: re-sent marked to the new ring",
      input: () => fromRemote(lo(ACK, conn().cport, later()), false),
      verdict: tx,
      output: () => toRemote(lo(ACK, conn().cport, later()), true),
      sc: 'forwarded',
      stale: true,
      vipId: 26,
    },
    {
      name: "v4 decapsulated marked non-SYN, the socket here an older connection's: chance used, passed",
      input: () => fromRemote(lo(ACK, conn().cport, later()), true),
      verdict: pass,
      output: () => flowFrame(lo(ACK, conn().cport, later())),
      sc: 'used',
      stale: true,
      vipId: 26,
    },
  ];
};
