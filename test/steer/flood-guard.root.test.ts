// The flood guard (steer_core.h flood_allows): past dataplane.flood_guard.new_flows_per_cpu_per_s flow
// inserts on a CPU within its window, new flows are steered by the ring exactly as before (verdict and
// bytes of the model) but not recorded, and counted in flood_bypass; a flow's later packet still reaches
// its owner; the next window records again. Without a guard every flow is recorded. The test pins itself
// to one CPU (the window is per CPU) and does not depend on how fast the box runs the burst: the window
// is lengthened to an hour (rodata flood_window_ns), and a new window is opened by writing the window's
// start back two windows on the program's clock (CLOCK_MONOTONIC, as process.hrtime), so the program's
// own "window over" test starts it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { decide } from '../../model/steer.js';
import { possibleCpus } from '../../src/native/index.js';
import { u32key } from '../../src/steer/adopt.js';
import type { Dataplane } from '../../src/steer/dataplane.js';
import * as P from '../../src/steer/proto.js';
import { flowFrame } from './packets.js';
import { CLIENT4, openTestbed, VIPS } from './setup.js';

const RATE = 100;
const BURST = 3 * RATE;
const WINDOW_NS = 3_600_000_000_000n; // an hour: no burst outlasts it
const U64 = (1n << 64n) - 1n;

const frame = (sport: number, flags: number): Buffer =>
  flowFrame({ family: 4, proto: 'tcp', src: CLIENT4, dst: VIPS.remote4.addr, sport, dport: 80, flags });

const pin = spawnSync('taskset', ['-pc', String(possibleCpus() - 1), String(process.pid)]);
assert.equal(pin.status, 0, 'pinned to one CPU');

/** Ends the current window on every CPU: its start two windows back on the program's clock. */
function endWindow(dp: Dataplane): void {
  const w = dp.unpinnedMap('flood_window');
  const v = Buffer.alloc(16); // struct flood_window: start_ns, count
  v.writeBigUInt64LE((process.hrtime.bigint() - 2n * WINDOW_NS) & U64, 0);
  w.updatePerCpu(
    u32key(0),
    Array.from({ length: possibleCpus() }, () => v),
  );
}

/** BURST new flows (SYNs from `sport0` on), each checked against the model: forwarded to its owner. */
function burst(dp: Dataplane, sport0: number): void {
  const model = { ...dp.state, flows: new Map<string, number>() };
  for (let i = 0; i < BURST; i++) {
    const f = frame(sport0 + i, P.TCP_SYN);
    const r = dp.program.testRun({ data: f });
    assert.equal(r.retval, P.XDP_TX, `flow ${sport0 + i}: forwarded`);
    assert.ok(
      r.data.equals(decide(model, f).data),
      `flow ${sport0 + i}: the model's bytes (the ring's owner)`,
    );
  }
}

test(`flood guard ${RATE}: ${BURST} new flows per window, ${RATE} recorded in each`, (t) => {
  const bigU64 = Buffer.alloc(8);
  bigU64.writeBigUInt64LE(WINDOW_NS);
  const dp = openTestbed({ floodNewFlowsPerCpu: RATE, rodata: { flood_window_ns: bigU64 } });
  t.after(() => dp.close());
  endWindow(dp);
  burst(dp, 20000);
  assert.equal(dp.map('flows').count(), RATE, 'first window: flows recorded');
  assert.equal(dp.globalStats().flood_bypass, BigInt(BURST - RATE), 'first window: the rest counted');
  const late = dp.program.testRun({ data: frame(20000 + BURST - 1, P.TCP_ACK) });
  assert.equal(late.retval, P.XDP_TX, "an unrecorded flow's ACK still goes to its owner");
  assert.equal(dp.globalStats().flow_miss, BigInt(BURST + 1), 'by the ring');
  assert.equal(dp.map('flows').count(), RATE, 'the ACK past the rate is not recorded either');
  endWindow(dp);
  burst(dp, 30000);
  assert.equal(dp.map('flows').count(), 2 * RATE, 'second window: RATE more recorded');
  assert.equal(
    dp.globalStats().flood_bypass,
    BigInt(2 * (BURST - RATE) + 1),
    'second window: the rest counted',
  );
});

test(`flood guard off: ${BURST} new flows, all recorded`, (t) => {
  const dp = openTestbed({ floodNewFlowsPerCpu: 0 });
  t.after(() => dp.close());
  burst(dp, 20000);
  assert.equal(dp.map('flows').count(), BURST, 'flows recorded');
  assert.equal(dp.globalStats().flood_bypass, 0n);
  assert.equal(dp.program.testRun({ data: frame(20000 + BURST - 1, P.TCP_ACK) }).retval, P.XDP_TX);
  assert.equal(dp.globalStats().flow_miss, BigInt(BURST), 'the ACK hit its entry');
});
