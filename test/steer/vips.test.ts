// VIP entries and their placement: a fragment entry per (address, protocol) without an any-port VIP,
// pointing at the lowest port; placement keeps existing slots and refuses a full probe sequence.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VIP_F_ANY_PORT, VIP_F_FRAG, VIP_F_USED, VIP_PROBES } from '../../src/steer/layout.js';
import { IPPROTO_TCP } from '../../src/steer/proto.js';
import {
  placeVips,
  type VipSpec,
  vipEntries,
  vipKeyHex,
  vipKeyOf,
  vipProbeSlots,
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
  assert.throws(() => vipEntries([spec(5000, 80)]), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => vipEntries([spec(1, 80, { serviceId: 99 })]), { code: 'ERR_INVALID_ARGUMENT' });
});

test('placement keeps the slots entries have and fills a probe sequence in order', () => {
  const entries = vipEntries([spec(1, 80)]);
  const first = placeVips(entries, new Map());
  const again = placeVips(entries, first);
  assert.deepEqual([...again], [...first]);
  for (const e of entries) assert.equal(first.get(vipKeyHex(e.key)), vipProbeSlots(e.key)[0]);
});

test('more colliding entries than probes are refused', () => {
  const byStart = new Map<number, number[]>();
  for (let port = 1; port < 65536; port++) {
    const start = vipProbeSlots(vipKeyOf('192.0.2.40', IPPROTO_TCP, port))[0]!;
    const ports = byStart.get(start) ?? [];
    ports.push(port);
    byStart.set(start, ports);
    if (ports.length > VIP_PROBES) break;
  }
  const ports = [...byStart.values()].find((p) => p.length > VIP_PROBES)!;
  const colliding = vipEntries(ports.map((p, i) => spec(i, p))).filter((e) => !(e.flags & VIP_F_FRAG));
  assert.throws(() => placeVips(colliding, new Map()), { code: 'ERR_INVALID_ARGUMENT' });
});
