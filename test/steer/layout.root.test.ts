// steer.h is the contract: the TypeScript layouts (src/steer/layout.ts) must match the BTF of the
// compiled object field by field, and the loaded maps must have the sizes the constants say.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { BpfObject, projectRoot } from '../../src/native/index.js';
import * as L from '../../src/steer/layout.js';

const OBJECT = join(projectRoot(), 'build/bpf/steer.bpf.o');

/** STRUCT name → {size, members: name → byte offset} from `bpftool btf dump ... format raw`. */
function btfStructs(): Map<string, { size: number; members: Map<string, number> }> {
  const out = new Map<string, { size: number; members: Map<string, number> }>();
  const text = execFileSync('bpftool', ['btf', 'dump', 'file', OBJECT, 'format', 'raw'], {
    encoding: 'utf8',
  });
  let current: Map<string, number> | undefined;
  for (const line of text.split('\n')) {
    const s = /^\[\d+\] STRUCT '(\w+)' size=(\d+)/.exec(line);
    if (s) {
      current = new Map();
      out.set(s[1]!, { size: Number(s[2]), members: current });
      continue;
    }
    const m = /^\s+'(\w+)' type_id=\d+ bits_offset=(\d+)/.exec(line);
    if (m && current) current.set(m[1]!, Number(m[2]) / 8);
    else if (!line.startsWith('\t')) current = undefined;
  }
  return out;
}

test('every steer.h struct has the size and field offsets of layout.ts', () => {
  const btf = btfStructs();
  for (const [name, layout] of Object.entries(L.LAYOUTS)) {
    // the rings map is declared by size (the loader sets its value to 4 × ring_size): no BTF type
    if (name === 'ring') continue;
    const s = btf.get(name);
    assert.ok(s, `struct ${name} is in the object's BTF`);
    assert.equal(s.size, layout.size, `sizeof(struct ${name})`);
    assert.deepEqual(
      Object.fromEntries(s.members),
      layout.fields,
      `offsets of struct ${name} (C: ${JSON.stringify(Object.fromEntries(s.members))})`,
    );
  }
});

test('the loaded maps have the key/value sizes and capacities of the constants', () => {
  const obj = BpfObject.open(OBJECT);
  try {
    assert.equal(obj.readRodata('layout_version')!.readUInt32LE(0), L.STEER_LAYOUT_VERSION, 'layout version');
    obj.load();
    for (const [name, spec] of Object.entries(L.MAP_SPECS)) {
      const m = obj.map(name);
      assert.deepEqual(
        { type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries },
        spec,
        `map ${name}`,
      );
    }
    assert.equal(obj.map('flows').perCpu, false, 'one flow table for all CPUs');
    assert.equal(obj.map('vip_stats').perCpu, true);
    assert.equal(obj.map('flow_cache').perCpu, true, 'the flow cache is per CPU: no torn entries');
  } finally {
    obj.close();
  }
});

test('encoders and decoders round-trip', () => {
  const key: L.FlowKey = {
    src: Buffer.from('20010db8000000000000000000000007', 'hex'),
    dst: Buffer.from('20010db8000000000000000000000011', 'hex'),
    sport: 40000,
    dport: 443,
    proto: 6,
    family: L.FAMILY_V6,
  };
  assert.deepEqual(L.decodeFlowKey(L.encodeFlowKey(key)), key);
  const entry: L.VipEntry = {
    key: { addr: Buffer.alloc(16, 1), port: 53, proto: 17, family: 4 },
    vipId: 9,
    serviceId: 3,
    flags: L.VIP_F_USED,
  };
  assert.deepEqual(L.decodeVipEntry(L.encodeVipEntry(entry)), entry);
  assert.equal(L.encodeVipEntry(entry).readUInt16BE(16), 53, 'port in network order');
  assert.deepEqual(L.decodeService(L.encodeService([1, 2])), [1, 2, 0, 0]);
});
