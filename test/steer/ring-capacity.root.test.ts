// The rings map sized from the config: value 4 × ring_size bytes, capacity services × RING_SLOTS. At
// 1,024 services of 1,021-entry rings every service's VIP is steered to its own ring's instance (frames
// through BPF_PROG_TEST_RUN, the outer destination checked), a service past the room is refused, and
// pins of the declared size (16 services of 65,537) are taken over: the rings made anew (a ring of another size is no ring of this one), written, then swapped.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { uniquePrefix } from '../../lab/netns.js';
import { BpfMap } from '../../src/native/index.js';
import { ipv6Bytes } from '../../src/steer/addr.js';
import { Dataplane } from '../../src/steer/dataplane.js';
import * as L from '../../src/steer/layout.js';
import * as P from '../../src/steer/proto.js';
import type { VipSpec } from '../../src/steer/vips.js';
import { flowFrame } from './packets.js';
import { CLIENT6, HOST4, HOST6, MTU } from './setup.js';

const SERVICES = 1024;
const RING = 1021; // prime, ≥ 100 × the instances of a small service
const INSTANCES = 64; // shared by the services, two per service
const OUTER_DST = 14 + 24; // the IPv6 outer header's destination (IP6-in-IP6 to the owner's host)

const hostOf = (n: number): string => `2001:db8:100::${(0x100 + n).toString(16)}`;
const member = (n: number) => ({ id: `h${n}/svc`, host6: hostOf(n), local: false });
const membersOf = (svc: number) => [member(svc % INSTANCES), member((svc + 1) % INSTANCES)];
const vipOf = (svc: number): string => `2001:db8:5::${(svc + 1).toString(16)}`;
const vips = (n: number): VipSpec[] =>
  Array.from({ length: n }, (_, s) => ({ vipId: s, serviceId: s, addr: vipOf(s), proto: 'tcp', port: 443 }));

/** Where a SYN to service `svc`'s VIP goes: the outer destination of the encapsulated frame. */
function ownerHost(dp: Dataplane, svc: number, sport: number): string {
  const frame = flowFrame({ family: 6, proto: 'tcp', src: CLIENT6, dst: vipOf(svc), sport, dport: 443 });
  const out = dp.program.testRun({ data: frame });
  assert.equal(out.retval, P.XDP_TX, `service ${svc}: forwarded`);
  const dst = out.data.subarray(OUTER_DST, OUTER_DST + 16);
  const n = [...Array(INSTANCES).keys()].find((i) => ipv6Bytes(hostOf(i)).equals(dst));
  assert.ok(n !== undefined, `service ${svc}: outer destination is an instance's host`);
  return hostOf(n);
}

test(`${SERVICES} services of ${RING}-entry rings: sized maps, every sampled service steered by its own ring`, () => {
  const dp = Dataplane.open({
    pin: false,
    host4: HOST4,
    host6: HOST6,
    mtu: MTU,
    ringSize: RING,
    ringServices: SERVICES,
  });
  try {
    const rings = dp.map('rings');
    assert.deepEqual([rings.valueSize, rings.maxEntries], [4 * RING, SERVICES * L.RING_SLOTS]);
    assert.equal(dp.map('services').maxEntries, L.MAX_SERVICES);
    assert.equal(dp.ringServices, SERVICES);
    for (let s = 0; s < SERVICES; s++) dp.setServiceMembers(s, membersOf(s));
    dp.setVips(vips(SERVICES));
    for (const s of [0, 1, 511, 777, SERVICES - 1]) {
      const hosts = new Set(membersOf(s).map((m) => m.host6));
      const seen = new Set<string>();
      for (let port = 1000; port < 1016; port++) seen.add(ownerHost(dp, s, port));
      for (const h of seen) assert.ok(hosts.has(h), `service ${s}: ${h} is one of its members`);
      assert.equal(seen.size, 2, `service ${s}: 16 flows reach both members`);
    }
    assert.throws(() => dp.setServiceMembers(SERVICES, [member(0)]), {
      code: 'ERR_INVALID_ARGUMENT',
      message: new RegExp(`rings for ${SERVICES} services`),
    });
  } finally {
    dp.close();
  }
});

test('pins of the declared rings (16 services × 65,537) are taken over by rings of another size and room', (t) => {
  const pinDir = `/sys/fs/bpf/${uniquePrefix('ss')}rings`;
  t.after(() => rmSync(pinDir, { recursive: true, force: true }));
  const first = Dataplane.open({ pinDir, host4: HOST4, host6: HOST6, mtu: MTU });
  let entries: number;
  try {
    first.setServiceMembers(3, membersOf(3));
    first.setVips(vips(4));
    entries = first.state.vips.length;
  } finally {
    first.close();
  }
  const dp = Dataplane.open({
    pinDir,
    host4: HOST4,
    host6: HOST6,
    mtu: MTU,
    ringSize: RING,
    ringServices: 64,
  });
  try {
    assert.deepEqual([...dp.migrated], ['rings']);
    assert.equal(dp.state.rings.size, 0, 'no ring of the old size adopted');
    assert.equal(dp.state.vips.length, entries, 'the VIP entries adopted');
    dp.setServiceMembers(3, membersOf(3));
    dp.setServiceMembers(63, membersOf(63));
    dp.setVips(vips(64));
    assert.ok(membersOf(3).some((m) => m.host6 === ownerHost(dp, 3, 2000)));
    assert.ok(membersOf(63).some((m) => m.host6 === ownerHost(dp, 63, 2000)));
    dp.finishUpgrade();
    const pinned = BpfMap.openPinned(join(pinDir, 'rings'));
    assert.deepEqual(
      [pinned.valueSize, pinned.maxEntries],
      [4 * RING, 64 * L.RING_SLOTS],
      'the new rings pinned',
    );
    pinned.close();
  } finally {
    dp.close();
  }
});
