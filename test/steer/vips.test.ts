// VIP entries and their placement: a fragment entry per (address, protocol) without an any-port VIP,
// pointing at the lowest port; placement keeps existing slots and spills past a full probe sequence.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as LIMITS from '../../src/config/limits.js';
import {
  decodeVipEntry,
  MAX_SERVICES,
  MAX_VIPS,
  VIP_F_ANY_PORT,
  VIP_F_FRAG,
  VIP_F_SPILL,
  VIP_F_TOMB,
  VIP_F_USED,
  VIP_PROBES,
  VIP_SLOTS,
} from '../../src/steer/layout.js';
import { IPPROTO_TCP } from '../../src/steer/proto.js';
import {
  NO_PLACEMENT,
  placeVips,
  type VipSpec,
  vipEntries,
  vipKeyHex,
  vipKeyOf,
  vipProbeSlots,
  vipTableImage,
} from '../../src/steer/vips.js';

const spec = (vipId: number, port: number, extra: Partial<VipSpec> = {}): VipSpec => ({
  vipId,
  serviceId: 1,
  addr: '192.0.2.40',
  proto: 'tcp',
  port,
  ...extra,
});

test('port VIPs get one fragment entry, for the lowest port', () => {
  const e = vipEntries([spec(1, 443), spec(2, 80)]);
  assert.equal(e.length, 3);
  const frag = e.find((x) => x.flags & VIP_F_FRAG)!;
  assert.deepEqual([frag.key.port, frag.vipId, frag.flags], [0, 2, VIP_F_USED | VIP_F_FRAG]);
});

test('an any-port VIP is its own fragment entry', () => {
  const e = vipEntries([spec(1, 443), spec(2, 0)]);
  assert.equal(e.length, 2);
  assert.equal(e.find((x) => x.key.port === 0)!.flags, VIP_F_USED | VIP_F_ANY_PORT);
});

test('duplicates and out-of-range ids are refused', () => {
  assert.throws(() => vipEntries([spec(1, 80), spec(2, 80)]), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => vipEntries([spec(MAX_VIPS, 80)]), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => vipEntries([spec(1, 80, { serviceId: MAX_SERVICES })]), {
    code: 'ERR_INVALID_ARGUMENT',
  });
});

test('placement keeps the slots entries have and fills a probe sequence in order', () => {
  const entries = vipEntries([spec(1, 80)]);
  const first = placeVips(entries, NO_PLACEMENT);
  const again = placeVips(entries, first);
  assert.deepEqual([...again.slots], [...first.slots]);
  for (const e of entries) assert.equal(first.slots.get(vipKeyHex(e.key)), vipProbeSlots(e.key)[0]);
});

test('a slot outside the probe sequence of its entry (a table of another size) is not kept', () => {
  const entries = vipEntries([spec(1, 80)]);
  const hex = vipKeyHex(entries[0]!.key);
  const wrong = (vipProbeSlots(entries[0]!.key)[0]! + VIP_PROBES) % VIP_SLOTS;
  const placed = placeVips(entries, { slots: new Map([[hex, wrong]]), spilled: new Set() });
  assert.equal(placed.slots.get(hex), vipProbeSlots(entries[0]!.key)[0]);
});

/** Port-80 VIPs in 10.0.0.0/8 whose keys share first probe slot 7404: one more than probes (found by a
 * search over 10.0.0.0/8 with hashVipKey; checked below, so a changed hash fails here, not silently). */
const COLLIDING_HOSTS = [
  2909, 94568, 186295, 233202, 324793, 350917, 397636, 489295, 580902, 627809, 719536, 745660, 837251, 884158,
  975629, 1001753, 1048576,
];

function collidingSpecs(): VipSpec[] {
  const specs = COLLIDING_HOSTS.map((h, j) =>
    spec(j, 80, { addr: `10.${h >> 16}.${(h >> 8) & 255}.${h & 255}` }),
  );
  assert.equal(specs.length, VIP_PROBES + 1);
  for (const s of specs) assert.equal(vipProbeSlots(vipKeyOf(s.addr, IPPROTO_TCP, 80))[0], 7404, s.addr);
  return specs;
}

test('more colliding entries than probes: the rest spill, their first slot is marked, nothing is refused', () => {
  const colliding = vipEntries(collidingSpecs()).filter((e) => !(e.flags & VIP_F_FRAG));
  const placed = placeVips(colliding, NO_PLACEMENT);
  assert.equal(placed.slots.size + placed.spilled.size, colliding.length);
  assert.ok(placed.spilled.size >= 1);
  const home = vipProbeSlots(colliding[0]!.key)[0]!;
  const image = vipTableImage(colliding, placed, new Map());
  assert.ok(decodeVipEntry(image.get(home)!).flags & VIP_F_SPILL, 'first slot marked');
  // the spilled one leaves again: its home keeps no mark, a vacated slot becomes a tombstone
  const fewer = colliding.slice(0, VIP_PROBES - 1);
  const again = placeVips(fewer, placed);
  assert.equal(again.spilled.size, 0);
  const next = vipTableImage(fewer, again, image);
  assert.equal(decodeVipEntry(next.get(home)!).flags & VIP_F_SPILL, 0, 'mark gone');
  const vacated = [...image.keys()].filter((slot) => ![...again.slots.values()].includes(slot));
  for (const slot of vacated) assert.equal(decodeVipEntry(next.get(slot)!).flags, VIP_F_TOMB);
});

test(`${MAX_VIPS} VIP/port entries on as many addresses (and their fragment entries): placed, few spill`, () => {
  const specs = Array.from({ length: MAX_VIPS }, (_, i) => ({
    vipId: i,
    serviceId: i % MAX_SERVICES,
    addr: `10.${(i >> 8) & 255}.${i & 255}.1`,
    proto: 'tcp' as const,
    port: 443,
  }));
  const entries = vipEntries(specs);
  assert.equal(entries.length, 2 * MAX_VIPS);
  const placed = placeVips(entries, NO_PLACEMENT);
  assert.equal(placed.slots.size + placed.spilled.size, entries.length);
  assert.ok(placed.spilled.size < entries.length / 1000, `spilled ${placed.spilled.size}`);
  assert.throws(
    () => vipEntries([...specs, { ...specs[0]!, port: 80 }]),
    (err: Error) =>
      err.message.includes(`${MAX_VIPS + 1} VIP/port entries`) && err.message.includes(`${MAX_VIPS}`),
  );
});

test('the config layer checks the limits of the data plane itself', () => {
  assert.equal(LIMITS.MAX_VIP_ENTRIES, MAX_VIPS);
  assert.equal(LIMITS.MAX_SERVICES, MAX_SERVICES);
});
