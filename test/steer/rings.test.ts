// Two rings and the second chance (issue 8) through BPF_PROG_TEST_RUN: which ring a miss reads (SYN /
// UDP → new, non-SYN TCP → established), the second chance on a miss owned here and on a decapsulated
// packet (forwarded once with the outer mark, already used, a real socket present → pass, no other owner),
// the outer mark in both families, the per-VIP counters of each outcome — and the model's agreement on
// verdict, bytes and ring kind. Expected frames are written out here, not taken from the model.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { addr16 } from '../../src/steer/addr.js';
import type { Dataplane } from '../../src/steer/dataplane.js';
import {
  encodeFlowKey,
  FAMILY_V4,
  RING_KIND_ESTABLISHED,
  RING_KIND_NEW,
  SECOND_CHANCE_ID4,
  SECOND_CHANCE_LABEL6,
} from '../../src/steer/layout.js';
import { decide, type SecondChance } from '../../src/steer/model.js';
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
import {
  CLIENT4,
  CLIENT6,
  HOST4,
  HOST6,
  LOCAL,
  openTestbed,
  REMOTE,
  REMOTE4,
  REMOTE6,
  VIPS,
} from './setup.js';

// services 4..6 beside the standard test bed's one-ring services 0..3
const SVC_EST_HERE = 4; // new → REMOTE, established → LOCAL
const SVC_NEW_HERE = 5; // new → LOCAL, established → REMOTE
const SVC_BOTH_HERE = 6; // both → LOCAL
const V = {
  estHere4: { vipId: 20, serviceId: SVC_EST_HERE, addr: '192.0.2.20', proto: 'tcp', port: 80 },
  estHereUdp4: { vipId: 21, serviceId: SVC_EST_HERE, addr: '192.0.2.20', proto: 'udp', port: 53 },
  newHere4: { vipId: 22, serviceId: SVC_NEW_HERE, addr: '192.0.2.21', proto: 'tcp', port: 80 },
  bothHere4: { vipId: 23, serviceId: SVC_BOTH_HERE, addr: '192.0.2.22', proto: 'tcp', port: 80 },
  estHere6: { vipId: 24, serviceId: SVC_EST_HERE, addr: '2001:db8::20', proto: 'tcp', port: 80 },
  newHere6: { vipId: 25, serviceId: SVC_NEW_HERE, addr: '2001:db8::21', proto: 'tcp', port: 80 },
} as const satisfies Record<string, VipSpec>;

let dp: Dataplane;
let server: Server;
let client: Socket;
let vipLo: VipSpec; // 127.0.0.1:<listener port>, established ring here: real sockets decide
const accepted: Socket[] = [];

before(async () => {
  dp = openTestbed();
  dp.setServiceRings(SVC_EST_HERE, { new: [REMOTE], established: [LOCAL] });
  dp.setServiceRings(SVC_NEW_HERE, { new: [LOCAL], established: [REMOTE] });
  dp.setServiceRings(SVC_BOTH_HERE, { new: [LOCAL], established: [LOCAL] });
  server = createServer((s) => accepted.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  vipLo = { vipId: 26, serviceId: SVC_EST_HERE, addr: '127.0.0.1', proto: 'tcp', port };
  dp.setVips([...Object.values(VIPS), ...Object.values(V), vipLo]);
  client = connect(port, '127.0.0.1');
  await once(client, 'connect');
});
after(() => {
  client?.destroy();
  for (const s of accepted) s.destroy();
  server?.close();
  dp?.close();
});

const ACK = P.TCP_ACK;
const t = (family: 4 | 6, dst: string, dport: number, flags: number, sport = 40000): FlowSpec => ({
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
function toRemote(f: FlowSpec, marked: boolean): Buffer {
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

interface Case {
  name: string;
  input: () => Buffer;
  verdict: number;
  output: () => Buffer;
  kind?: number; // ring kind of the miss
  sc?: SecondChance; // second-chance counter that moves
  vipId: number;
}

const SC_FIELD = {
  forwarded: 'sc_forwarded',
  used: 'sc_used',
  socket: 'sc_socket',
  none: 'sc_none',
} as const;

const cases = (): Case[] => {
  const synEst = t(4, V.estHere4.addr, 80, P.TCP_SYN);
  const ackEst = t(4, V.estHere4.addr, 80, ACK);
  const ackEst6 = t(6, V.estHere6.addr, 80, ACK);
  const ackNew = t(4, V.newHere4.addr, 80, ACK);
  const ackNew6 = t(6, V.newHere6.addr, 80, ACK | 0x08);
  const synNew = t(4, V.newHere4.addr, 80, P.TCP_SYN);
  const ackBoth = t(4, V.bothHere4.addr, 80, ACK);
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
  const lo = (flags: number, sport: number): FlowSpec => ({
    ...t(4, '127.0.0.1', vipLo.port, flags, sport),
    src: '127.0.0.1',
  });
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
      name: 'v4 non-SYN miss with a real socket here: passed',
      input: () => flowFrame(lo(ACK, client.localPort as number)),
      verdict: pass,
      output: () => flowFrame(lo(ACK, client.localPort as number)),
      kind: RING_KIND_ESTABLISHED,
      sc: 'socket',
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
      name: 'v4 decapsulated non-SYN with a real socket here: passed',
      input: () => fromRemote(lo(ACK, client.localPort as number), false),
      verdict: pass,
      output: () => flowFrame(lo(ACK, client.localPort as number)),
      sc: 'socket',
      vipId: 26,
    },
  ];
};

const hex = (b: Buffer): string => b.toString('hex');

for (const c of cases()) {
  test(c.name, () => {
    dp.clearFlows();
    dp.resetStats();
    const input = c.input();
    const r = dp.program.testRun({ data: input });
    assert.equal(r.retval, c.verdict, 'verdict');
    assert.equal(hex(r.data), hex(c.output()), 'output bytes');
    const st = dp.vipStats(c.vipId);
    for (const [sc, field] of Object.entries(SC_FIELD))
      assert.equal(st[field], sc === c.sc ? 1n : 0n, `${field}`);
    assert.equal(dp.globalStats().sk_lookup, c.sc ? 1n : 0n, 'socket lookups');
    const sockets = new Set<string>();
    if (c.sc === 'socket')
      sockets.add(
        hex(
          encodeFlowKey({
            src: addr16('127.0.0.1'),
            dst: addr16('127.0.0.1'),
            sport: client.localPort as number,
            dport: vipLo.port,
            proto: P.IPPROTO_TCP,
            family: FAMILY_V4,
          }),
        ),
      );
    const m = decide({ ...dp.state, flows: new Map(), sockets }, input);
    assert.equal(m.verdict, c.verdict, 'model verdict');
    assert.equal(hex(m.data), hex(c.output()), 'model bytes');
    assert.equal(m.ringKind, c.kind, 'model ring kind');
    assert.equal(m.secondChance, c.sc, 'model second chance');
  });
}

test('a second-chanced flow is recorded to the new ring owner; its next packets hit, with no socket check', () => {
  dp.clearFlows();
  dp.resetStats();
  const ack = t(4, V.estHere4.addr, 80, ACK, 41000);
  dp.program.testRun({ data: flowFrame(ack) });
  const flows = dp.readFlows();
  assert.equal(flows.size, 1);
  assert.equal([...flows.values()][0], dp.instanceSlot(REMOTE.id));
  const r = dp.program.testRun({ data: flowFrame(ack) });
  assert.equal(hex(r.data), hex(toRemote(ack, false)), 'a hit forwards (unmarked) to the recorded owner');
  const g = dp.globalStats();
  assert.equal(g.sk_lookup, 1n, 'one socket lookup, on the miss only');
  assert.equal(g.flow_hit, 1n);
});

test('one-ring services are untouched: a non-SYN miss reads the new ring, never a socket check', () => {
  dp.clearFlows();
  dp.resetStats();
  const ack = t(4, '192.0.2.10', 80, ACK); // the standard test bed's local one-ring VIP
  const r = dp.program.testRun({ data: flowFrame(ack) });
  assert.equal(r.retval, P.XDP_PASS);
  assert.equal(dp.globalStats().sk_lookup, 0n);
  const m = decide({ ...dp.state, flows: new Map() }, flowFrame(ack));
  assert.equal(m.ringKind, RING_KIND_NEW);
});
