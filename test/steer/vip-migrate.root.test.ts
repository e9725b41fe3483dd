// Pins of layout 1 (BASE_REV's object: a 4,096-slot vip_table, 1,024 vip_stats, no vip_spill or
// vip_filter) taken over by this tree's object: the VIP table is copied into the 65,536-slot one (entries
// at their old slots, outside their new probe windows), vip_stats into the larger one, vip_spill and
// vip_filter made, services copied into the larger one; the adopted VIPs keep their ids, the first setVips re-places them, and BPF_PROG_TEST_RUN
// frames to them are steered by the new program (not passed as non-VIP); finishUpgrade swaps the pins.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { uniquePrefix } from '../../lab/netns.js';
import { BpfMap, BpfObject, ensureBpffs } from '../../src/native/index.js';
import { u32key } from '../../src/steer/adopt.js';
import { Dataplane } from '../../src/steer/dataplane.js';
import * as L from '../../src/steer/layout.js';
import * as P from '../../src/steer/proto.js';
import { vipEntries, vipProbeSlots } from '../../src/steer/vips.js';
import { baselineObject, writeBaselineVips } from './baseline.js';
import { flowFrame } from './packets.js';
import { CLIENT4, HOST4, VIPS } from './setup.js';

const PIN_DIR = `/sys/fs/bpf/${uniquePrefix('dpvip')}pins`;
/** Maps of one program instance, never pinned (src/steer/dataplane.ts UNPINNED). */
const UNPINNED = new Set(['ctl', 'flow_cache']);

after(() => rmSync(PIN_DIR, { recursive: true, force: true }));

test('layout 1 pins: VIPs copied, re-placed by the first setVips, steered; the pins become layout 2', () => {
  ensureBpffs();
  rmSync(PIN_DIR, { recursive: true, force: true });
  mkdirSync(PIN_DIR);
  const specs = Object.values(VIPS);
  const entries = vipEntries(specs);
  // the old agent: its object, its VIPs at its slots, instance slot 0 local (every ring entry is 0)
  const old = BpfObject.open(baselineObject());
  const pinned = old.declaredMaps().filter((m) => !m.internal && !UNPINNED.has(m.name));
  old.load();
  const oldSlots = writeBaselineVips(old, entries);
  const local = {
    host4: Buffer.alloc(4),
    host6: Buffer.alloc(16),
    flags: L.INSTANCE_F_VALID | L.INSTANCE_F_LOCAL,
  };
  old.map('instances').update(u32key(0), L.encodeInstance(local));
  const layout1 = Buffer.alloc(L.LAYOUTS.pin_layout.size);
  layout1.writeUInt32LE(1, 0);
  old.map('pin_layout').update(u32key(0), layout1);
  for (const m of pinned) old.map(m.name).pin(join(PIN_DIR, m.name));
  old.close();
  assert.ok(
    entries.some((e, i) => !vipProbeSlots(e.key).includes(oldSlots[i]!)),
    'some old slots lie outside the new probe windows (the copy alone would not find them)',
  );

  const dp = Dataplane.open({ pinDir: PIN_DIR, host4: HOST4 });
  try {
    assert.deepEqual(dp.layout, { pinned: 1, object: L.STEER_LAYOUT_VERSION });
    // services too: its capacity grew from 16 to MAX_SERVICES (the rings map, as declared, is the same)
    assert.deepEqual([...dp.migrated].sort(), ['services', 'vip_stats', 'vip_table']);
    assert.equal(dp.state.vips.length, entries.length, 'the adopted VIPs (their ids kept)');
    dp.setVips(specs);
    for (const e of entries) {
      const slot = dp.vipPlacement.slots.get(L.encodeVipKey(e.key).toString('hex'));
      assert.ok(slot !== undefined && vipProbeSlots(e.key).includes(slot), 're-placed in its window');
    }
    const frame = flowFrame({
      family: 4,
      proto: 'tcp',
      src: CLIENT4,
      dst: VIPS.local4.addr,
      sport: 40000,
      dport: 80,
      flags: P.TCP_SYN,
    });
    assert.equal(dp.program.testRun({ data: frame }).retval, P.XDP_PASS);
    assert.equal(
      dp.vipStats(VIPS.local4.vipId).local,
      1n,
      'steered to the local instance, not passed as non-VIP',
    );
    assert.ok(dp.upgrading);
    dp.finishUpgrade();
    const pins = readdirSync(PIN_DIR);
    assert.ok(
      pins.includes('vip_spill') && pins.includes('vip_filter'),
      `new maps pinned: ${pins.join(' ')}`,
    );
    const table = BpfMap.openPinned(join(PIN_DIR, 'vip_table'));
    const layout = BpfMap.openPinned(join(PIN_DIR, 'pin_layout'));
    try {
      assert.equal(table.maxEntries, L.VIP_SLOTS);
      assert.equal(layout.lookup(u32key(0))!.readUInt32LE(0), L.STEER_LAYOUT_VERSION);
    } finally {
      table.close();
      layout.close();
    }
  } finally {
    dp.close();
  }
});
