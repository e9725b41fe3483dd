// Table-driven fixtures through BPF_PROG_TEST_RUN: each frame's verdict and output bytes, the flow
// table entry it leaves, and the TypeScript model's agreement on all three. Then the counters, the
// flow table across ring changes, and the spare-ring flip.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decide } from '../../model/steer.js';
import type { Dataplane } from '../../src/steer/dataplane.js';
import * as P from '../../src/steer/proto.js';
import { fixtures } from './fixtures.js';
import { flowFrame } from './packets.js';
import { CLIENT4, LOCAL, openTestbed, REMOTE, SVC_REMOTE, VIPS } from './setup.js';

let dp: Dataplane;
before(() => {
  dp = openTestbed();
});
after(() => dp?.close());

const hex = (b: Buffer): string => b.toString('hex');

test('at least 40 fixtures, every outcome covered', () => {
  const all = fixtures();
  assert.ok(all.length >= 40, `${all.length} fixtures`);
  const outcomes = new Set(all.map((f) => f.outcome));
  for (const o of [
    'not-ip',
    'parse-fail',
    'non-vip',
    'decap',
    'local',
    'forward',
    'too-big',
    'drop-no-instance',
    'drop-no-address',
  ])
    assert.ok(outcomes.has(o as never), `outcome ${o}`);
});

for (const f of fixtures()) {
  test(f.name, () => {
    dp.clearFlows();
    const r = dp.program.testRun({ data: f.input });
    assert.equal(r.retval, f.verdict, 'verdict');
    assert.equal(hex(r.data), hex(f.output), 'output bytes');
    const recorded = f.recorded ?? ['forward', 'local', 'too-big', 'drop-no-address'].includes(f.outcome);
    assert.equal(dp.readFlows().size, recorded ? 1 : 0, 'flow entry');
    const m = decide({ ...dp.state, flows: new Map() }, f.input);
    assert.equal(m.outcome, f.outcome, 'model outcome');
    assert.equal(m.verdict, f.verdict, 'model verdict');
    assert.equal(hex(m.data), hex(f.output), 'model bytes');
    assert.equal(m.recorded ?? false, recorded, 'model flow entry');
  });
}

test('counters: per VIP packets/bytes/forwarded/local/too-big/drops, global misses/hits/parse failures', () => {
  dp.clearFlows();
  dp.resetStats();
  const syn = flowFrame({
    family: 4,
    proto: 'tcp',
    src: CLIENT4,
    dst: VIPS.remote4.addr,
    sport: 1,
    dport: 80,
  });
  const big = flowFrame({
    family: 4,
    proto: 'tcp',
    src: CLIENT4,
    dst: VIPS.remote4.addr,
    sport: 2,
    dport: 80,
    payload: Buffer.alloc(1600),
  });
  const local = flowFrame({
    family: 4,
    proto: 'tcp',
    src: CLIENT4,
    dst: VIPS.local4.addr,
    sport: 1,
    dport: 80,
  });
  const ack = flowFrame({
    family: 4,
    proto: 'tcp',
    src: CLIENT4,
    dst: VIPS.remote4.addr,
    sport: 1,
    dport: 80,
    flags: P.TCP_ACK,
  });
  for (const f of [syn, ack, big, local]) dp.program.testRun({ data: f });
  dp.program.testRun({ data: syn.subarray(0, 20) });
  dp.program.testRun({
    data: flowFrame({ family: 4, proto: 'tcp', src: CLIENT4, dst: VIPS.empty4.addr, sport: 1, dport: 443 }),
  });
  const r = dp.vipStats(VIPS.remote4.vipId);
  assert.equal(r.packets, 3n);
  assert.equal(r.bytes, BigInt(syn.length + ack.length + big.length));
  assert.equal(r.forwarded, 2n);
  assert.equal(r.too_big, 1n);
  assert.equal(dp.vipStats(VIPS.local4.vipId).local, 1n);
  assert.equal(dp.vipStats(VIPS.empty4.vipId).drops['no-instance'], 1n);
  const g = dp.globalStats();
  assert.deepEqual([g.flow_miss, g.flow_hit, g.parse_fail], [4n, 1n, 1n]);
});

test('a recorded flow stays on its instance when the ring changes; new flows follow the new ring', () => {
  dp.clearFlows();
  const flow = {
    family: 4 as const,
    proto: 'tcp' as const,
    src: CLIENT4,
    dst: VIPS.remote4.addr,
    sport: 5000,
    dport: 80,
  };
  assert.equal(dp.program.testRun({ data: flowFrame(flow) }).retval, P.XDP_TX);
  dp.setServiceMembers(SVC_REMOTE, [LOCAL]); // the ring now says "this host"
  try {
    assert.equal(
      dp.program.testRun({ data: flowFrame({ ...flow, flags: P.TCP_ACK }) }).retval,
      P.XDP_TX,
      'old flow kept',
    );
    assert.equal(
      dp.program.testRun({ data: flowFrame({ ...flow, sport: 5001 }) }).retval,
      P.XDP_PASS,
      'new flow local',
    );
    assert.equal(
      dp.program.testRun({ data: flowFrame(flow) }).retval,
      P.XDP_PASS,
      'a SYN on the old flow addresses and ports is a new connection: the ring, not the stale entry',
    );
    assert.equal(
      dp.program.testRun({ data: flowFrame({ ...flow, flags: P.TCP_ACK }) }).retval,
      P.XDP_PASS,
      'and it recorded its owner',
    );
    dp.setServiceMembers(SVC_REMOTE, [REMOTE]);
    dp.program.testRun({ data: flowFrame(flow) }); // the flow back on REMOTE, the ring on LOCAL again
    dp.setServiceMembers(SVC_REMOTE, [LOCAL]);
    dp.setInstance(REMOTE, false); // a failed instance: its flows re-steer
    assert.equal(dp.program.testRun({ data: flowFrame({ ...flow, flags: P.TCP_ACK }) }).retval, P.XDP_PASS);
  } finally {
    dp.setInstance(REMOTE, true);
    dp.setServiceMembers(SVC_REMOTE, [REMOTE]);
  }
});

test('a ring update writes the spare slot and flips the active index', () => {
  const before = dp.state.services.get(SVC_REMOTE)![0]!;
  dp.setServiceMembers(SVC_REMOTE, [REMOTE]);
  const afterFlip = dp.state.services.get(SVC_REMOTE)![0]!;
  assert.notEqual(afterFlip, before);
  assert.ok(afterFlip === 0 || afterFlip === 1, 'the new ring kind uses slots 0 and 1');
  const raw = dp.map('services').lookup(Buffer.from(new Uint32Array([SVC_REMOTE]).buffer))!;
  assert.equal(raw.readUInt32LE(0), afterFlip);
});
