// The control side: a restarted agent adopts the pinned maps (VIPs, rings, instance slots and flows
// survive), the program is replaced on an interface atomically, and bad settings are refused.
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { addVethPair, createNetns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import type { AnycastdError } from '../../src/errors.js';
import { BpfMap, ifIndex, queryXdp, withNetns } from '../../src/native/index.js';
import { Dataplane, MAP_NAMES } from '../../src/steer/dataplane.js';
import * as L from '../../src/steer/layout.js';
import * as P from '../../src/steer/proto.js';
import { vipKeyOf, vipProbeSlots } from '../../src/steer/vips.js';
import { flowFrame } from './packets.js';
import { CLIENT4, HOST4, HOST6, LOCAL, MTU, openTestbed, REMOTE, SVC_REMOTE, VIPS } from './setup.js';

const flow = {
  family: 4 as const,
  proto: 'tcp' as const,
  src: CLIENT4,
  dst: VIPS.remote4.addr,
  sport: 777,
  dport: 80,
};

test('a restarted agent adopts the pinned maps: VIPs, rings, instance slots and flows survive', (t) => {
  const pinDir = `/sys/fs/bpf/${uniquePrefix('steer')}pins`;
  t.after(() => rmSync(pinDir, { recursive: true, force: true }));
  const first = openTestbed({ pin: true, pinDir });
  let remoteSlot: number;
  try {
    assert.deepEqual(first.adopted, []);
    assert.equal(first.program.testRun({ data: flowFrame(flow) }).retval, P.XDP_TX);
    remoteSlot = first.instanceSlot(REMOTE.id);
  } finally {
    first.close();
  }
  const second = Dataplane.open({ pinDir, host4: HOST4, host6: HOST6, mtu: MTU });
  try {
    assert.deepEqual([...second.adopted].sort(), [...MAP_NAMES].sort());
    assert.equal(second.state.vips.length, first.state.vips.length);
    assert.equal(second.instanceSlot(REMOTE.id), remoteSlot, 'instance slots come back by id');
    assert.equal(second.readFlows().size, 1);
    second.setServiceMembers(SVC_REMOTE, [LOCAL]); // after the restart the ring moves to this host
    assert.equal(second.program.testRun({ data: flowFrame({ ...flow, flags: P.TCP_ACK }) }).retval, P.XDP_TX);
    assert.equal(second.program.testRun({ data: flowFrame({ ...flow, sport: 778 }) }).retval, P.XDP_PASS);
  } finally {
    second.close();
  }
});

test('a pinned map of another shape under the same layout version is refused; nothing changes', (t) => {
  const pinDir = `/sys/fs/bpf/${uniquePrefix('steer')}shape`;
  t.after(() => rmSync(pinDir, { recursive: true, force: true }));
  const first = openTestbed({ pin: true, pinDir });
  first.close();
  rmSync(join(pinDir, 'instance_ids'));
  const other = openTestbed({ pin: false });
  other.map('services').pin(join(pinDir, 'instance_ids')); // 16-byte values where 64 are expected
  other.close();
  const before = readdirSync(pinDir).sort();
  assert.throws(
    () => Dataplane.open({ pinDir, host4: HOST4 }),
    (err: AnycastdError) =>
      err.code === 'ERR_PIN_LAYOUT' &&
      err.message.includes(
        `map instance_ids is pinned as type 2, key 4 B, value 16 B, ${L.MAX_SERVICES} entries`,
      ) &&
      err.message.includes('nothing was changed'),
  );
  assert.deepEqual(readdirSync(pinDir).sort(), before, 'no pin removed or added');
  const ids = BpfMap.openPinned(join(pinDir, 'instance_ids'));
  assert.equal(ids.valueSize, 16, 'the foreign pin is still there');
  ids.close();
});

test('the program is replaced on an interface atomically (XDP_FLAGS_REPLACE)', (t) => {
  const prefix = uniquePrefix('steerx');
  t.after(() => removeNetnsByPrefix(prefix));
  const ns = createNetns(prefix);
  addVethPair(ns, 'v0', 'v1');
  const a = Dataplane.open({ pin: false, host4: HOST4 });
  const b = Dataplane.open({ pin: false, host4: HOST4 });
  try {
    withNetns(ns.name, () => {
      const idx = ifIndex('v0');
      a.attach(idx);
      assert.equal(queryXdp(idx).progId, a.program.id);
      b.attach(idx, 'native', a.program.fd);
      assert.equal(queryXdp(idx).progId, b.program.id);
      assert.throws(
        () => a.attach(idx, 'native', a.program.fd),
        'replacing a program that is no longer there fails',
      );
      b.detach(idx);
      assert.equal(queryXdp(idx).mode, 'none');
    });
  } finally {
    a.close();
    b.close();
  }
});

test('bad settings are refused before anything loads', () => {
  assert.throws(() => Dataplane.open({ pin: false, ringSize: 65536 }), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => Dataplane.open({ pin: false, mtu: 1000 }), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => Dataplane.open({ pin: false, host4: '2001:db8::1' }), { code: 'ERR_INVALID_ARGUMENT' });
});

test('a removed VIP leaves a tombstone, so a VIP probed past it is still found', () => {
  // two ports of one address whose probe sequences start at the same slot
  const bySlot = new Map<number, number>();
  let pair: [number, number] | undefined;
  for (let port = 1; port < 20000 && !pair; port++) {
    const slot = vipProbeSlots(vipKeyOf('192.0.2.50', P.IPPROTO_TCP, port))[0]!;
    const other = bySlot.get(slot);
    if (other !== undefined) pair = [other, port];
    bySlot.set(slot, port);
  }
  assert.ok(pair, 'a colliding pair exists');
  const [first, second] = pair;
  const spec = (vipId: number, port: number) =>
    ({ vipId, serviceId: 0, addr: '192.0.2.50', proto: 'tcp', port }) as const;
  const dp = Dataplane.open({ pin: false, host4: HOST4 });
  try {
    dp.setServiceMembers(0, [LOCAL]);
    dp.setVips([spec(20, first), spec(21, second)]);
    const to = (port: number) => flowFrame({ ...flow, dst: '192.0.2.50', dport: port });
    assert.equal(dp.vipStats(21).local, 0n);
    dp.setVips([spec(21, second)]); // the first one leaves: its slot becomes a tombstone
    assert.equal(dp.program.testRun({ data: to(second) }).retval, P.XDP_PASS);
    assert.equal(dp.vipStats(21).local, 1n, 'the second VIP is found past the tombstone');
    dp.program.testRun({ data: to(first) });
    assert.equal(dp.globalStats().non_vip, 1n, 'the removed VIP no longer matches');
  } finally {
    dp.close();
  }
});
