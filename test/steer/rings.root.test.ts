// Two rings and the second chance (bpf/rings.h) through BPF_PROG_TEST_RUN: which ring a miss reads (SYN /
// UDP → new, non-SYN TCP → established), the second chance on a miss owned here and on a decapsulated
// packet (forwarded once with the outer mark, already used, a real socket present → pass, no other owner),
// the outer mark in both families, the per-VIP counters of each outcome — and the model's agreement on
// verdict, bytes and ring kind. Expected frames are written out here, not taken from the model.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { decide, type SocketWindow } from '../../model/steer.js';
import { SockDiag } from '../../src/native/sockdiag.js';
import { addr16 } from '../../src/steer/addr.js';
import type { Dataplane } from '../../src/steer/dataplane.js';
import {
  decodeFlowVal,
  encodeFlowKey,
  encodeFlowVal,
  FAMILY_V4,
  FAMILY_V6,
  FLOW_F_MASK,
  FLOW_SEQ_SHIFT,
  LAYOUTS,
  RING_KIND_NEW,
} from '../../src/steer/layout.js';
import * as P from '../../src/steer/proto.js';
import type { VipSpec } from '../../src/steer/vips.js';
import { receiveNext } from '../helpers/tcp-repair.js';
import { waitFor } from '../helpers/wait-for.js';
import { type FlowSpec, flowFrame } from './packets.js';
import {
  ACK,
  cases,
  SC_FIELD,
  SVC_BOTH_HERE,
  SVC_EST_HERE,
  SVC_NEW_HERE,
  SVC_PREV_NEW_REMOTE,
  SVC_PREV_REMOTE,
  t,
  toRemote,
  V,
} from './ring-cases.js';
import { LOCAL, openTestbed, REMOTE, VIPS } from './setup.js';

let dp: Dataplane;
let server: Server;
let client: Socket;
let vipLo: VipSpec; // 127.0.0.1:<listener port>, established ring here: real sockets decide
const accepted: Socket[] = [];
let rcvNxt: number; // the accepted (server) socket's next expected sequence number
let tw: { cport: number; rcvNxt: number }; // a second connection the server closed first: TIME-WAIT here

before(async () => {
  dp = openTestbed();
  dp.setServiceRings(SVC_EST_HERE, { new: [REMOTE], established: [LOCAL] });
  dp.setServiceRings(SVC_NEW_HERE, { new: [LOCAL], established: [REMOTE] });
  dp.setServiceRings(SVC_BOTH_HERE, { new: [LOCAL], established: [LOCAL] });
  dp.setServiceRings(SVC_PREV_REMOTE, { new: [REMOTE], established: [REMOTE] });
  dp.setServiceRings(SVC_PREV_REMOTE, { new: [LOCAL], established: [LOCAL] });
  dp.setServiceRings(SVC_PREV_NEW_REMOTE, { new: [REMOTE], established: [LOCAL] });
  dp.setServiceRings(SVC_PREV_NEW_REMOTE, { new: [LOCAL], established: [LOCAL] });
  server = createServer((s) => accepted.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  vipLo = { vipId: 26, serviceId: SVC_EST_HERE, addr: '127.0.0.1', proto: 'tcp', port };
  dp.setVips([...Object.values(VIPS), ...Object.values(V), vipLo]);
  client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  while (accepted.length === 0) await new Promise((r) => setImmediate(r));
  rcvNxt = receiveNext(accepted[0]!);
  // the second: the server ends it, the client answers with its FIN (one sequence number more)
  const second = connect(port, '127.0.0.1');
  await once(second, 'connect');
  while (accepted.length === 1) await new Promise((r) => setImmediate(r));
  tw = { cport: second.localPort as number, rcvNxt: (receiveNext(accepted[1]!) + 1) >>> 0 };
  second.on('end', () => second.end());
  accepted[1]!.end();
  await once(second, 'close');
  // the client's FIN reaches the server, which acknowledges it: its socket is in TIME-WAIT
  const diag = SockDiag.open();
  try {
    await waitFor(
      () =>
        diag
          .inetSockets({ family: 4, protocol: 'tcp', states: ['time-wait'], localPort: port })
          .some((s) => s.remotePort === tw.cport),
      { what: "the server's TIME-WAIT socket" },
    );
  } finally {
    diag.close();
  }
});
after(() => {
  client?.destroy();
  for (const s of accepted) s.destroy();
  server?.close();
  dp?.close();
});

const hex = (b: Buffer): string => b.toString('hex');

for (const c of cases(() => ({ port: vipLo.port, cport: client.localPort as number, rcvNxt, tw }))) {
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
    assert.equal(st.sc_stale, c.stale ? 1n : 0n, 'sc_stale');
    assert.equal(dp.globalStats().sk_lookup, c.sc ? 1n : 0n, 'socket lookups');
    // the cases' sequence numbers fit (or miss) any window below 2^26 alike
    const sockets = new Map<string, SocketWindow | null>(
      [
        [client.localPort as number, rcvNxt],
        [tw.cport, tw.rcvNxt],
      ].map(([cport, nxt]) => [
        hex(
          encodeFlowKey({
            src: addr16('127.0.0.1'),
            dst: addr16('127.0.0.1'),
            sport: cport!,
            dport: vipLo.port,
            proto: P.IPPROTO_TCP,
            family: FAMILY_V4,
          }),
        ),
        { rcvNxt: nxt!, rcvWnd: 65_535 },
      ]),
    );
    const m = decide({ ...dp.state, flows: new Map(), sockets }, input);
    assert.equal(m.verdict, c.verdict, 'model verdict');
    assert.equal(hex(m.data), hex(c.output()), 'model bytes');
    assert.equal(m.ringKind, c.kind, 'model ring kind');
    assert.equal(m.secondChance, c.sc, 'model second chance');
    assert.equal(m.staleSocket ?? false, c.stale ?? false, 'model stale socket');
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

test('a flow nobody can serve (no socket here, no other owner) is not recorded: a reused 5-tuple finds no stale entry', () => {
  dp.clearFlows();
  dp.resetStats();
  const ack = t(4, V.bothHere4.addr, 80, ACK, 42000);
  const r = dp.program.testRun({ data: flowFrame(ack) });
  assert.equal(r.retval, P.XDP_PASS);
  assert.equal(dp.vipStats(V.bothHere4.vipId).sc_none, 1n);
  assert.equal(dp.readFlows().size, 0, 'nothing recorded');
  const m = decide({ ...dp.state, flows: new Map() }, flowFrame(ack));
  assert.equal(m.recorded, false, 'the model agrees');
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

/** The encoded flow key of a TCP flow spec. */
function keyOf(f: FlowSpec): Buffer {
  return encodeFlowKey({
    src: addr16(f.src),
    dst: addr16(f.dst),
    sport: f.sport,
    dport: f.dport,
    proto: P.IPPROTO_TCP,
    family: f.family === 4 ? FAMILY_V4 : FAMILY_V6,
  });
}

/** A local flow entry for `f` as the program records it: instance slot, flags with `seq` packed in. */
function localEntry(f: FlowSpec, seq: number): { key: Buffer; hexKey: string } {
  const key = keyOf(f);
  const flags = (seq & ~FLOW_F_MASK) >>> 0;
  dp.map('flows').update(key, encodeFlowVal({ instance: dp.instanceSlot(LOCAL.id), flags }));
  return { key, hexKey: hex(key) };
}

test("a local hit near its entry's last sequence number passes with no socket check, and moves the number on", () => {
  dp.clearFlows();
  dp.resetStats();
  const f = { ...t(4, V.estHere4.addr, 80, ACK, 43000), seq: 0x1000_0000 };
  const { key } = localEntry(f, 0x1000_0000 - 3000);
  const r = dp.program.testRun({ data: flowFrame(f) });
  assert.equal(r.retval, P.XDP_PASS);
  assert.equal(dp.globalStats().sk_lookup, 0n);
  assert.equal(dp.globalStats().flow_hit, 1n);
  const flags = decodeFlowVal(dp.map('flows').lookup(key)!).flags;
  const cached = dp.flowCacheSlot(key).map((e) => e.readUInt32LE(LAYOUTS.flow_cache_entry.fields.flags));
  assert.ok(
    [flags, ...cached].some((x) => x >>> FLOW_SEQ_SHIFT === 0x1000_0000 >>> FLOW_SEQ_SHIFT),
    "the entry (or this CPU's cached copy) now holds the packet's sequence number",
  );
});

test("a local hit far from its entry's sequence number, no socket here: the entry was an older connection's — re-steered by the rings and the second chance", () => {
  dp.clearFlows();
  dp.resetStats();
  const f = { ...t(4, V.estHere4.addr, 80, ACK, 43001), seq: 0x5000_0000 };
  const { key, hexKey } = localEntry(f, 0x1000_0000);
  const state = {
    ...dp.state,
    flows: new Map([[hexKey, dp.instanceSlot(LOCAL.id)]]),
    flowSeqs: new Map([[hexKey, 0x1000_0000 >>> FLOW_SEQ_SHIFT]]),
  };
  const m = decide(state, flowFrame(f));
  const r = dp.program.testRun({ data: flowFrame(f) });
  assert.equal(hex(r.data), hex(toRemote(f, true)), "sent once, marked, to the new ring's owner");
  assert.equal(dp.globalStats().stale_flow, 1n);
  assert.equal(dp.globalStats().flow_miss, 1n, 'counted as a miss');
  assert.equal(dp.vipStats(V.estHere4.vipId).sc_forwarded, 1n);
  assert.equal(
    decodeFlowVal(dp.map('flows').lookup(key)!).instance,
    dp.instanceSlot(REMOTE.id),
    're-recorded',
  );
  assert.equal(m.staleFlow, true, 'the model agrees');
  assert.equal(hex(m.data), hex(r.data));
  assert.equal(state.flows.get(hexKey), dp.instanceSlot(REMOTE.id));
});

test("a local hit far from its entry's sequence number that a real socket here fits: kept (the flow came back after a while)", () => {
  dp.clearFlows();
  dp.resetStats();
  const f = {
    ...t(4, '127.0.0.1', vipLo.port, ACK, client.localPort as number),
    src: '127.0.0.1',
    seq: rcvNxt,
  };
  localEntry(f, (rcvNxt + 0x2000_0000) >>> 0);
  const r = dp.program.testRun({ data: flowFrame(f) });
  assert.equal(r.retval, P.XDP_PASS);
  assert.equal(dp.globalStats().stale_flow, 0n);
  assert.equal(dp.globalStats().sk_lookup, 1n, 'one socket check');
  assert.equal(dp.globalStats().flow_hit, 1n);
  dp.program.testRun({ data: flowFrame(f) });
  assert.equal(dp.globalStats().sk_lookup, 1n, 'none for the next packet: near again');
});

test('a hit on a remote entry far from its sequence number is not trusted: re-steered by the rings', () => {
  dp.clearFlows();
  dp.resetStats();
  const f = { ...t(4, V.estHere4.addr, 80, ACK, 43002), seq: 0x5000_0000 };
  const key = keyOf(f);
  dp.map('flows').update(key, encodeFlowVal({ instance: dp.instanceSlot(REMOTE.id), flags: 0x1000_0000 }));
  const near = { ...f, seq: 0x1000_0100 };
  assert.equal(
    hex(dp.program.testRun({ data: flowFrame(near) }).data),
    hex(toRemote(near, false)),
    'near: a hit',
  );
  const r = dp.program.testRun({ data: flowFrame(f) });
  // the established ring names this host, no socket: the second chance marks it (a hit would not)
  assert.equal(hex(r.data), hex(toRemote(f, true)), 'far: rings and second chance');
  assert.equal(dp.globalStats().stale_flow, 1n);
  const m = decide(
    {
      ...dp.state,
      flows: new Map([[hex(key), dp.instanceSlot(REMOTE.id)]]),
      flowSeqs: new Map([[hex(key), 0x1000_0100 >>> FLOW_SEQ_SHIFT]]),
    },
    flowFrame(f),
  );
  assert.equal(m.staleFlow, true, 'the model agrees');
  assert.equal(hex(m.data), hex(r.data));
});

test('an entry naming an instance marked failed is re-steered but kept, so its flows return when it does', () => {
  dp.clearFlows();
  dp.resetStats();
  const f = t(4, VIPS.local4.addr, 80, ACK, 43003);
  const key = keyOf(f);
  dp.map('flows').update(key, encodeFlowVal({ instance: dp.instanceSlot(REMOTE.id), flags: 0x0102_0300 }));
  dp.setInstance(REMOTE, false);
  try {
    const m = decide({ ...dp.state, flows: new Map([[hex(key), dp.instanceSlot(REMOTE.id)]]) }, flowFrame(f));
    const r = dp.program.testRun({ data: flowFrame(f) });
    assert.equal(r.retval, P.XDP_PASS, "re-steered by the ring: this host's instance");
    assert.equal(
      decodeFlowVal(dp.map('flows').lookup(key)!).instance,
      dp.instanceSlot(REMOTE.id),
      'entry kept',
    );
    assert.equal(m.verdict, P.XDP_PASS, 'the model agrees');
    assert.equal(m.recorded, false);
  } finally {
    dp.setInstance(REMOTE, true);
  }
  const back = dp.program.testRun({ data: flowFrame(f) });
  assert.equal(back.retval, P.XDP_TX, 'the instance is back: its flow goes to it again');
});
