// BpfMap against the real kernel: update flags, lookup, delete, key iteration, per-CPU values,
// batch update, pinning, reopening a pin (openPinned) and adopting it in a second object (reuseMap).
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { uniquePrefix } from '../../lab/netns.js';
import { SystemError } from '../../src/errors.js';
import { BpfMap, BpfObject, DEFAULT_BPFFS, ensureBpffs, possibleCpus } from '../../src/native/index.js';
import { packet, TEST_OBJECT, u32, XDP_DROP, XDP_PASS, XDP_TX } from './fixture.js';

function loaded(): BpfObject {
  const obj = BpfObject.open(TEST_OBJECT);
  obj.load();
  return obj;
}

const sortKeys = (keys: Buffer[]): number[] => keys.map((k) => k.readUInt32LE()).sort((a, b) => a - b);

test('hash map: update flags, lookup, delete, iterate', (t) => {
  const obj = loaded();
  t.after(() => obj.close());
  const m = obj.map('verdicts');
  assert.equal(m.keySize, 4);
  assert.equal(m.valueSize, 4);
  assert.equal(m.maxEntries, 64);
  assert.equal(m.perCpu, false);

  assert.equal(m.lookup(u32(1)), null);
  m.update(u32(1), u32(XDP_DROP), 'noexist');
  assert.deepEqual(m.lookup(u32(1)), u32(XDP_DROP));
  assert.throws(
    () => m.update(u32(1), u32(XDP_TX), 'noexist'),
    (err: unknown) =>
      err instanceof SystemError &&
      err.code === 'EEXIST' &&
      err.syscall === 'bpf_map_update_elem' &&
      /verdicts/.test(err.attempt),
  );
  assert.throws(() => m.update(u32(2), u32(XDP_TX), 'exist'), { code: 'ENOENT' });
  m.update(u32(1), u32(XDP_TX), 'exist');
  assert.deepEqual(m.lookup(u32(1)), u32(XDP_TX));
  m.update(u32(3), u32(XDP_PASS));
  m.update(u32(5), u32(XDP_PASS));
  assert.deepEqual(sortKeys(m.keys()), [1, 3, 5]);
  assert.equal(m.delete(u32(3)), true);
  assert.equal(m.delete(u32(3)), false);
  assert.deepEqual(sortKeys(m.keys()), [1, 5]);
  assert.throws(() => m.update(Buffer.alloc(2), u32(1)), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => m.lookupPerCpu(u32(1)), { code: 'ERR_INVALID_ARGUMENT' });
});

test('batch update writes every entry', (t) => {
  const obj = loaded();
  t.after(() => obj.close());
  const m = obj.map('verdicts');
  const keys = Array.from({ length: 40 }, (_, i) => u32(100 + i));
  const values = keys.map((_, i) => u32(i % 4));
  m.updateBatch(keys, values);
  assert.equal(m.keys().length, 40);
  assert.deepEqual(
    keys.map((k) => m.lookup(k)),
    values,
  );
  assert.throws(() => m.updateBatch(keys, values.slice(1)), { code: 'ERR_INVALID_ARGUMENT' });
});

test('per-CPU maps: one value per possible CPU, padded values round-trip', (t) => {
  const obj = loaded();
  t.after(() => obj.close());
  const cpus = possibleCpus();
  assert.ok(cpus >= 1);

  const small = obj.map('pcpu_small');
  assert.equal(small.perCpu, true);
  assert.equal(small.storedValueSize, cpus * 8); // 4-byte values at 8-byte strides
  const perCpu = Array.from({ length: cpus }, (_, cpu) => u32(1000 + cpu));
  small.updatePerCpu(u32(42), perCpu);
  assert.deepEqual(small.lookupPerCpu(u32(42)), perCpu);
  assert.deepEqual(small.lookupPerCpu(u32(43)), []);
  assert.throws(() => small.lookup(u32(42)), { code: 'ERR_INVALID_ARGUMENT' });
  const reversed = [...perCpu].reverse();
  small.updateBatch([u32(1), u32(2)], [small.packPerCpu(perCpu), small.packPerCpu(reversed)]);
  assert.deepEqual(small.lookupPerCpu(u32(2)), reversed);

  // The program counts into the per-CPU stats array; the sum over CPUs is what it saw.
  const stats = obj.map('stats');
  const runs = 3;
  const repeat = 4;
  for (let i = 0; i < runs; i++) obj.program('xdp_test').testRun({ data: packet(0), repeat });
  const values = stats.lookupPerCpu(u32(0));
  assert.equal(values.length, cpus);
  const packets = values.reduce((sum, v) => sum + v.readBigUInt64LE(0), 0n);
  const bytes = values.reduce((sum, v) => sum + v.readBigUInt64LE(8), 0n);
  assert.equal(packets, BigInt(runs * repeat));
  assert.equal(bytes, BigInt(runs * repeat * packet(0).length));
});

test('pin, reopen with openPinned, adopt with reuseMap in a second object, unpin', (t) => {
  ensureBpffs();
  const dir = join(DEFAULT_BPFFS, `${uniquePrefix('native')}pins`);
  mkdirSync(dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = loaded();
  t.after(() => first.close());
  const pin = join(dir, 'verdicts');
  first.map('verdicts').pin(pin);
  first.program('xdp_test').pin(join(dir, 'xdp_test'));
  assert.throws(() => first.map('verdicts').pin(pin), { code: 'EEXIST' });

  const pinned = BpfMap.openPinned(pin);
  t.after(() => pinned.close());
  assert.equal(pinned.id, first.map('verdicts').id);
  pinned.update(u32(9), u32(XDP_DROP));
  assert.deepEqual(first.map('verdicts').lookup(u32(9)), u32(XDP_DROP));

  const second = BpfObject.open(TEST_OBJECT);
  t.after(() => second.close());
  second.reuseMap('verdicts', pin);
  assert.throws(() => second.reuseMap('no_such_map', pin), { code: 'ERR_BPF_OBJECT' });
  second.load();
  assert.equal(second.map('verdicts').id, first.map('verdicts').id);
  assert.notEqual(second.map('stats').id, first.map('stats').id);
  // The second object's program sees what was written through the first.
  assert.equal(second.program('xdp_test').testRun({ data: packet(9) }).retval, XDP_DROP);

  rmSync(pin);
  assert.throws(() => BpfMap.openPinned(pin), { code: 'ENOENT' });
});

test('ensureBpffs is idempotent', () => {
  ensureBpffs();
  ensureBpffs();
});
