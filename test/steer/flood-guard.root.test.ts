// The flood guard (steer_core.h flood_allows): past dataplane.flood_guard.new_flows_per_cpu_per_s flow
// inserts on a CPU within a second, new flows are steered by the ring exactly as before (verdict and
// bytes of the model) but not recorded, and counted in flood_bypass; a flow's later packet still reaches
// its owner. Without a guard every flow is recorded. The test pins itself to one CPU (the window is per CPU).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { decide } from '../../model/steer.js';
import { possibleCpus } from '../../src/native/index.js';
import * as P from '../../src/steer/proto.js';
import { flowFrame } from './packets.js';
import { CLIENT4, openTestbed, VIPS } from './setup.js';

const RATE = 100;
const FLOWS = 3 * RATE;

const frame = (sport: number, flags: number): Buffer =>
  flowFrame({ family: 4, proto: 'tcp', src: CLIENT4, dst: VIPS.remote4.addr, sport, dport: 80, flags });

const pin = spawnSync('taskset', ['-pc', String(possibleCpus() - 1), String(process.pid)]);
assert.equal(pin.status, 0, 'pinned to one CPU');

for (const rate of [RATE, 0]) {
  test(`flood guard ${rate || 'off'}: ${FLOWS} new flows in well under a second`, (t) => {
    const dp = openTestbed({ floodNewFlowsPerCpu: rate });
    t.after(() => dp.close());
    const model = { ...dp.state, flows: new Map<string, number>() };
    const frames = Array.from({ length: FLOWS }, (_, i) => frame(20000 + i, P.TCP_SYN));
    const wants = frames.map((f) => decide(model, f).data);
    // a tight loop (a few ms): the whole burst falls in one window of the guard
    const got = frames.map((f) => dp.program.testRun({ data: f }));
    got.forEach((r, i) => {
      assert.equal(r.retval, P.XDP_TX, `flow ${i}: forwarded`);
      assert.ok(r.data.equals(wants[i]!), `flow ${i}: the model's bytes (steered by the ring)`);
    });
    const recorded = rate ? RATE : FLOWS;
    assert.equal(dp.map('flows').count(), recorded, 'flows recorded');
    assert.equal(dp.globalStats().flood_bypass, BigInt(FLOWS - recorded), 'the rest counted');
    const late = dp.program.testRun({ data: frame(20000 + FLOWS - 1, P.TCP_ACK) });
    assert.equal(late.retval, P.XDP_TX, "an unrecorded flow's ACK still goes to its owner");
    assert.equal(
      dp.globalStats().flow_miss,
      BigInt(FLOWS + (rate ? 1 : 0)),
      rate ? 'by the ring' : 'by its entry',
    );
  });
}
