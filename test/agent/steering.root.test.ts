// Steering over a real Dataplane: the established ring's join grace (its timer on a FakeClock), restart
// or newcomer by the pins' heartbeat, and that an unchanged ring is never rewritten — a write flips to the
// kind's other slot, which the program's second chance reads as the previous ring (bpf/rings.h), so an
// identical write would throw that ring away.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { uniquePrefix } from '../../lab/netns.js';
import { Steering } from '../../src/agent/steering.js';
import { parseConfig } from '../../src/config/load.js';
import { Dataplane } from '../../src/steer/dataplane.js';
import { RESTART_WINDOW_MS } from '../../src/steer/join-grace.js';
import {
  INSTANCE_F_VALID,
  RING_KIND_ESTABLISHED,
  RING_KIND_NEW,
  RING_SLOTS,
} from '../../src/steer/layout.js';
import { MaglevThread } from '../../src/steer/maglev-pool.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { waitFor } from '../helpers/wait-for.js';
import { flowFrame } from '../steer/packets.js';

const JOIN_GRACE_MS = 150;
const u32 = (v: number) => Buffer.from(new Uint32Array([v]).buffer);

const service = parseConfig(
  `node: { id: h1, host: { ipv4: 192.0.2.11 }, asn: 65101, uplinks: [lo] }
services:
  - name: web
    vips: [203.0.113.10]
    ports: [{ protocol: tcp, port: 80 }]
    instances:
      - { id: h1, host: { ipv4: 192.0.2.11 } }
      - { id: h2, host: { ipv4: 192.0.2.12 } }
      - { id: h3, host: { ipv4: 192.0.2.13 } }
    checks: [{ type: tcp, port: 80 }]
    join_grace: ${JOIN_GRACE_MS}ms
`,
  '/test/steering.yaml',
).services[0]!;

test('an unchanged ring is not rewritten; a joiner held by the join grace keeps the previous ring', async () => {
  const dp = Dataplane.open({ pin: false, host4: '192.0.2.11', ringSize: 101 });
  const clock = new FakeClock();
  try {
    const steering = new Steering(dp, clock);
    steering.setServices([service]);
    const id = steering.serviceId('web')!;
    const active = (kind: number) => dp.state.services.get(id)![kind]!;
    const ringIn = (slot: number) => [...(dp.state.rings.get(id * RING_SLOTS + slot) ?? [])];
    // the first write admits everyone but this host's own instance: no adopted maps, a newcomer
    steering.setRing(service, 'established', ['h1', 'h2']);
    steering.setRing(service, 'new', ['h1', 'h2']);
    assert.deepEqual(Object.keys(steering.shares('web').established), ['h2']);
    await clock.advance(JOIN_GRACE_MS - 1);
    assert.deepEqual(Object.keys(steering.shares('web').established), ['h2'], 'held for the join grace');
    await clock.advance(1);
    assert.deepEqual(Object.keys(steering.shares('web').established).sort(), ['h1', 'h2']);
    steering.setRing(service, 'established', ['h1', 'h2']);
    const est = active(RING_KIND_ESTABLISHED);
    const first = ringIn(est);
    steering.setRing(service, 'established', ['h1', 'h2']);
    const fresh = active(RING_KIND_NEW);
    steering.setRing(service, 'new', ['h1', 'h2']);
    assert.equal(active(RING_KIND_NEW), fresh, 'the same new ring: no flip');
    assert.equal(active(RING_KIND_ESTABLISHED), est, 'the same established ring: no flip');
    steering.setRing(service, 'established', ['h1', 'h2', 'h3']); // h3 joins: held for the join grace
    assert.equal(active(RING_KIND_ESTABLISHED), est, 'the admitted set did not change: no write, no flip');
    assert.deepEqual(Object.keys(steering.shares('web').established).sort(), ['h1', 'h2']);
    await clock.advance(JOIN_GRACE_MS - 1);
    assert.equal(active(RING_KIND_ESTABLISHED), est, 'still within the join grace');
    await clock.advance(1);
    assert.notEqual(active(RING_KIND_ESTABLISHED), est, 'h3 admitted after its join grace: written');
    assert.deepEqual(ringIn(est), first, 'the slot it replaced still holds the ring of h1 and h2');
    assert.deepEqual(Object.keys(steering.shares('web').established).sort(), ['h1', 'h2', 'h3']);
  } finally {
    dp.close();
  }
});

test('adopted pins: a recent heartbeat is a restart (own instance admitted, flows kept); none is a newcomer with its flows cleared', (t) => {
  const pinDir = `/sys/fs/bpf/${uniquePrefix('steering')}pins`;
  t.after(() => rmSync(pinDir, { recursive: true, force: true }));
  const open = () => Dataplane.open({ pinDir, host4: '192.0.2.11', ringSize: 101 });
  const flow = flowFrame({
    family: 4,
    proto: 'tcp',
    src: '198.51.100.7',
    dst: '203.0.113.10',
    sport: 999,
    dport: 80,
  });
  const first = open();
  try {
    const steering = new Steering(first);
    steering.setServices([service]);
    steering.setRing(service, 'established', ['h1', 'h2', 'h3']);
    steering.setRing(service, 'new', ['h1', 'h2', 'h3']);
    first.program.testRun({ data: flow }); // one flow entry
    assert.equal(first.readFlows().size, 1);
    assert.equal(first.pinsAgeMs, null, 'nothing pinned before');
    first.heartbeat();
    steering.removeService('web'); // its join timer (this host was a newcomer); the flow entry stays
  } finally {
    first.close();
  }
  const restarted = open();
  try {
    assert.ok(
      restarted.pinsAgeMs !== null && restarted.pinsAgeMs < RESTART_WINDOW_MS,
      `${restarted.pinsAgeMs}`,
    );
    const steering = new Steering(restarted);
    assert.equal(steering.staleAdoption, false);
    assert.equal(restarted.readFlows().size, 1, 'a restart keeps the flows');
    steering.setServices([service]);
    steering.setRing(service, 'established', ['h1', 'h2', 'h3']);
    assert.deepEqual(Object.keys(steering.shares('web').established).sort(), ['h1', 'h2', 'h3']);
    // an old beat: as if the agent had been gone for longer than the restart window
    const old = Buffer.alloc(8);
    old.writeBigUInt64LE(process.hrtime.bigint() - BigInt(RESTART_WINDOW_MS + 1_000) * 1_000_000n);
    restarted.map('agent_beat').update(Buffer.alloc(4), old);
  } finally {
    restarted.close();
  }
  const back = open();
  try {
    assert.ok(back.pinsAgeMs !== null && back.pinsAgeMs > RESTART_WINDOW_MS);
    const steering = new Steering(back);
    assert.equal(steering.staleAdoption, true);
    assert.equal(back.readFlows().size, 0, 'stale flow entries are cleared');
    steering.setServices([service]);
    steering.setRing(service, 'established', ['h1', 'h2', 'h3']);
    assert.deepEqual(Object.keys(steering.shares('web').established).sort(), ['h2', 'h3'], 'a newcomer');
    steering.removeService('web'); // and its join timer
  } finally {
    back.close();
  }
});

test('going back to the ring before the active one is a flip: the kernel holds both rings', () => {
  const dp = Dataplane.open({ pin: false, host4: '192.0.2.11', ringSize: 101 });
  try {
    const steering = new Steering(dp, new FakeClock());
    steering.setServices([service]);
    const id = steering.serviceId('web')!;
    const kernelRing = (slot: number): number[] => {
      const v = dp.map('rings').lookup(Buffer.from(new Uint32Array([id * RING_SLOTS + slot]).buffer))!;
      return [...new Uint32Array(v.buffer.slice(v.byteOffset, v.byteOffset + 4 * 101))];
    };
    const active = () => dp.state.services.get(id)![RING_KIND_NEW]!;
    steering.setRing(service, 'new', ['h1', 'h2', 'h3']);
    const all = active();
    const allRing = kernelRing(all);
    steering.setRing(service, 'new', ['h2', 'h3']); // the local instance leaves
    const without = active();
    assert.notEqual(without, all);
    const withoutRing = kernelRing(without);
    assert.notDeepEqual(withoutRing, allRing);
    const withoutShares = steering.shares('web').new;
    assert.deepEqual(Object.keys(withoutShares).sort(), ['h2', 'h3']);
    steering.setRing(service, 'new', ['h1', 'h2', 'h3']); // and comes back: a flip to the other slot
    assert.equal(active(), all);
    assert.deepEqual(kernelRing(all), allRing, 'the slot flipped to holds the ring of all three');
    assert.deepEqual(kernelRing(without), withoutRing, 'the other slot still holds the one without h1');
    assert.deepEqual(Object.keys(steering.shares('web').new).sort(), ['h1', 'h2', 'h3']);
    steering.setRing(service, 'new', ['h2', 'h3']); // again: back to the ring without h1
    assert.equal(active(), without);
    assert.deepEqual(steering.shares('web').new, withoutShares);
    // the kernel's entries name the instance slots of the table built afresh for the same set
    const fresh = new Steering(Dataplane.open({ pin: false, host4: '192.0.2.11', ringSize: 101 }));
    try {
      fresh.setServices([service]);
      fresh.setRing(service, 'new', ['h1', 'h2', 'h3']);
      fresh.setRing(service, 'new', ['h2', 'h3']);
      const fid = fresh.serviceId('web')!;
      const fdp = fresh.dataplane;
      const name = (d: Dataplane, slot: number) =>
        d
          .map('instance_ids')
          .lookup(Buffer.from(new Uint32Array([slot]).buffer))!
          .toString()
          .replace(/\0+$/, '');
      const slotFresh = fdp.state.services.get(fid)![RING_KIND_NEW]!;
      const freshRing = [...fdp.state.rings.get(fid * RING_SLOTS + slotFresh)!];
      assert.deepEqual(
        kernelRing(without).map((s) => name(dp, s)),
        freshRing.map((s) => name(fdp, s)),
      );
    } finally {
      fresh.dataplane.close();
    }
  } finally {
    dp.close();
  }
});

test('with tables built on the worker thread: writes land in call order once built, the same rings as on the loop', async () => {
  const dp = Dataplane.open({ pin: false, host4: '192.0.2.11' }); // the default ring size, 65,537
  const inline = Dataplane.open({ pin: false, host4: '192.0.2.11' });
  const thread = new MaglevThread();
  try {
    thread.start();
    await waitFor(() => thread.up, { timeoutMs: 30_000, what: 'the table thread up' }); // seconds under tsx
    const steering = new Steering(dp, new FakeClock(), { builder: thread });
    const onLoop = new Steering(inline, new FakeClock());
    for (const s of [steering, onLoop]) s.setServices([service]);
    const id = steering.serviceId('web')!;
    const activeRing = (d: Dataplane) => {
      const slot = d.state.services.get(id)?.[RING_KIND_NEW];
      return slot === undefined ? undefined : d.state.rings.get(id * RING_SLOTS + slot);
    };
    const validFlag = (d: Dataplane, slot: number) => d.state.instances.get(slot)!.flags & INSTANCE_F_VALID;
    steering.setRing(service, 'new', ['h1', 'h2', 'h3']);
    assert.equal(activeRing(dp), undefined, 'not written before its table is built');
    await steering.settled();
    onLoop.setRing(service, 'new', ['h1', 'h2', 'h3']);
    assert.deepEqual(activeRing(dp), activeRing(inline));
    const h1 = dp.instanceSlot('web/h1');
    steering.setRing(service, 'new', ['h2', 'h3']);
    steering.setValid(service, 'h1', false); // queued behind the ring that leaves it out
    assert.ok(validFlag(dp, h1), 'the failed mark waits for the ring write before it');
    await steering.settled();
    onLoop.setRing(service, 'new', ['h2', 'h3']);
    assert.equal(validFlag(dp, h1), 0);
    assert.deepEqual(activeRing(dp), activeRing(inline), 'the ring without h1, as built on the loop');
    const kernel = dp.map('rings').lookup(u32(id * RING_SLOTS + dp.state.services.get(id)![RING_KIND_NEW]!))!;
    assert.ok(
      Buffer.from(activeRing(inline)!.buffer).equals(kernel.subarray(0, 4 * 65537)),
      'the kernel holds it',
    );
    assert.ok(thread.up && thread.fellBack === null, 'built on the thread');
  } finally {
    await thread.close();
    dp.close();
    inline.close();
  }
});
