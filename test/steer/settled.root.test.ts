// Fewer inserts (rodata record_settled 0, bpf/README.md "Fewer inserts"): a TCP flow of a two-ring service
// whose four ring slots (new, established, both previous) name one owner is forwarded to that owner and
// cached on this CPU, not written to the flow table; a flow whose ring slots disagree (a ring change
// could have moved it, or did) is recorded as before; a later packet of a settled flow reaches the same
// owner. With the default (record every flow) both kinds are recorded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide } from '../../model/steer.js';
import type { Dataplane } from '../../src/steer/dataplane.js';
import * as P from '../../src/steer/proto.js';
import { flowFrame } from './packets.js';
import { CLIENT4, openTestbed, REMOTE, SVC_REMOTE, VIPS } from './setup.js';

const OTHER = { id: 'd/web', host4: '198.51.100.4', local: false };
const FLOWS = 200;
const OUTER_DST = 14 + 16; // the IPIP header's destination address in the forwarded frame

const frame = (sport: number, flags: number): Buffer =>
  flowFrame({ family: 4, proto: 'tcp', src: CLIENT4, dst: VIPS.remote4.addr, sport, dport: 80, flags });

const outerDst = (b: Buffer): string => [...b.subarray(OUTER_DST, OUTER_DST + 4)].join('.');

/** SYNs of FLOWS new flows into `new` {REMOTE, OTHER} / `established` {REMOTE} (the previous new ring
 * {REMOTE}); returns how many went to OTHER and how many the table holds after. */
function open(dp: Dataplane): { toOther: number; recorded: number } {
  dp.setServiceRings(SVC_REMOTE, { new: [REMOTE, OTHER], established: [REMOTE] });
  const model = { ...dp.state, flows: new Map<string, number>() };
  let toOther = 0;
  for (let i = 0; i < FLOWS; i++) {
    const syn = frame(2000 + i, P.TCP_SYN);
    const r = dp.program.testRun({ data: syn });
    assert.equal(r.retval, P.XDP_TX, `flow ${i}: forwarded`);
    assert.ok(r.data.equals(decide(model, syn).data), `flow ${i}: the model's bytes`);
    const to = outerDst(r.data);
    assert.ok(to === REMOTE.host4 || to === OTHER.host4, `flow ${i}: to an owner (${to})`);
    if (to === OTHER.host4) toOther++;
    // its next packet (a cache or table hit, or a miss by the established ring) goes the same way
    const ack = dp.program.testRun({ data: frame(2000 + i, P.TCP_ACK) });
    assert.equal(ack.retval, P.XDP_TX, `flow ${i}: ACK forwarded`);
    if (to === REMOTE.host4) assert.equal(outerDst(ack.data), to, `flow ${i}: ACK to the SYN's owner`);
  }
  const recorded = dp.map('flows').count();
  assert.equal(model.flows.size, recorded, "the model's recorded flows");
  return { toOther, recorded };
}

test('record_settled 0: only flows whose ring slots disagree get an entry', (t) => {
  const dp = openTestbed({ recordSettled: false });
  t.after(() => dp.close());
  const { toOther, recorded } = open(dp);
  assert.ok(toOther > 0 && toOther < FLOWS, `both owners used (${toOther} to the other)`);
  assert.equal(recorded, toOther, 'recorded: exactly the flows the new ring gives another owner');
  // settled flows' ACKs missed no entry: cleared caches send them by the rings to the same owner
  dp.clearFlows();
  for (let i = 0; i < FLOWS; i++) {
    const r = dp.program.testRun({ data: frame(2000 + i, P.TCP_ACK) });
    assert.equal(r.retval, P.XDP_TX);
    assert.equal(outerDst(r.data), REMOTE.host4, `flow ${i}: the established ring's owner`);
  }
});

test('record_settled 1 (default): every flow gets an entry', (t) => {
  const dp = openTestbed();
  t.after(() => dp.close());
  const { recorded } = open(dp);
  assert.equal(recorded, FLOWS);
});
