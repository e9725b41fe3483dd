// BpfMap's batch reads (lookupBatch, entries, count) against the real kernel, checked against the key walk
// plus one lookup per key: hash and LRU hash maps of 100k entries, empty maps, a chunk-sized map, hash
// buckets bigger than the chunk (ENOSPC, grown and retried), per-CPU values, an array, and a DEVMAP_HASH
// (no batch ops: the fallback). Also prints batch count against key walk at 100k entries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { native } from '../../src/native/addon.js';
import {
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_HASH,
  BpfMap,
  LOOKUP_BATCH_ENTRIES,
  type MapCreateSpec,
  possibleCpus,
} from '../../src/native/map.js';
import { u32 } from './fixture.js';

const BPF_MAP_TYPE_DEVMAP_HASH = 25;
const ENOTSUPP = 524; // kernel-internal: the map type has no batch ops
const LOOPBACK_IFINDEX = 1;
const FLOW_KEY_BYTES = 40; // the shape of steer's `flows` map (src/steer/layout.ts)
const FLOW_VAL_BYTES = 8;
const FLOW_TABLE_SIZE = 131072;
const BIG = 100_000;

function created(t: { after: (fn: () => void) => void }, spec: Omit<MapCreateSpec, 'name'>): BpfMap {
  const m = BpfMap.create({ name: 'acdh_batch', ...spec });
  t.after(() => m.close());
  return m;
}

/** Entry `i` of a flows-shaped map: a distinct 40-byte key and an 8-byte value derived from it. */
function flowEntry(i: number): [Buffer, Buffer] {
  const key = Buffer.alloc(FLOW_KEY_BYTES);
  key.writeUInt32LE(i, 0);
  key.writeUInt32BE(0xc6336400 + (i % 256), 16);
  key.writeUInt16BE(1024 + (i % 60000), 32);
  const value = Buffer.alloc(FLOW_VAL_BYTES);
  value.writeUInt32LE(i % 97, 0);
  value.writeUInt32LE(i, 4);
  return [key, value];
}

function fill(m: BpfMap, entries: Array<[Buffer, Buffer]>): void {
  m.updateBatch(
    entries.map(([k]) => k),
    entries.map(([, v]) => v),
  );
}

/** key hex → value hex, from the batch reads. */
function batchTable(m: BpfMap, chunk?: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of m.entries(chunk)) {
    assert.equal(out.has(k.toString('hex')), false, 'a key read twice');
    out.set(k.toString('hex'), v.toString('hex'));
  }
  return out;
}

/** key hex → value hex, from the one-by-one walk (next key, then a lookup). */
function walkTable(m: BpfMap): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of m.keys()) {
    const raw = Buffer.alloc(m.storedValueSize);
    if (native().mapLookup(m.fd, k, raw)) out.set(k.toString('hex'), raw.toString('hex'));
  }
  return out;
}

function hexTable(entries: Array<[Buffer, Buffer]>): Map<string, string> {
  return new Map(entries.map(([k, v]) => [k.toString('hex'), v.toString('hex')]));
}

function ms(fn: () => number): { value: number; ms: number } {
  const start = performance.now();
  const value = fn();
  return { value, ms: performance.now() - start };
}

test('LRU hash of 100k flows: batch count and entries equal the key walk; batch vs walk timing', (t) => {
  const m = created(t, {
    type: BPF_MAP_TYPE_LRU_HASH,
    keySize: FLOW_KEY_BYTES,
    valueSize: FLOW_VAL_BYTES,
    maxEntries: FLOW_TABLE_SIZE,
  });
  const entries = Array.from({ length: BIG }, (_, i) => flowEntry(i));
  fill(m, entries);

  const walk = ms(() => m.keys().length);
  const batch = ms(() => m.count());
  assert.equal(batch.value, walk.value);
  // user-space updates of an LRU map evict only when a CPU's free list runs dry; at 76% full none did here
  assert.equal(batch.value, BIG);
  const table = batchTable(m);
  assert.deepEqual(table, walkTable(m));
  assert.deepEqual(table, hexTable(entries));
  const entriesRead = ms(() => [...m.entries()].length);
  assert.equal(entriesRead.value, BIG);
  t.diagnostic(
    `${BIG} entries: key walk ${walk.ms.toFixed(1)} ms, batch count ${batch.ms.toFixed(1)} ms ` +
      `(${(walk.ms / batch.ms).toFixed(1)}x), batch entries ${entriesRead.ms.toFixed(1)} ms`,
  );
});

test('hash of 100k entries: batch count and entries equal the key walk and what was written', (t) => {
  const m = created(t, { type: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: FLOW_TABLE_SIZE });
  const entries = Array.from({ length: BIG }, (_, i): [Buffer, Buffer] => [u32(i * 7919), u32(i)]);
  fill(m, entries);
  assert.equal(m.count(), BIG);
  assert.equal(m.count(), m.keys().length);
  const table = batchTable(m);
  assert.deepEqual(table, walkTable(m));
  assert.deepEqual(table, hexTable(entries));
  // a chunk size that divides nothing: the same set
  assert.deepEqual(batchTable(m, 1000), table);
});

test('empty maps: count 0, no entries', (t) => {
  for (const type of [BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_HASH]) {
    const m = created(t, { type, keySize: 4, valueSize: 4, maxEntries: 1024 });
    assert.equal(m.count(), 0, `type ${type}`);
    assert.deepEqual([...m.lookupBatch()], [], `type ${type}`);
    assert.deepEqual([...m.entries(1)], [], `type ${type}`);
  }
});

test('exactly one chunk of entries (and one more, and one less)', (t) => {
  for (const n of [LOOKUP_BATCH_ENTRIES - 1, LOOKUP_BATCH_ENTRIES, LOOKUP_BATCH_ENTRIES + 1]) {
    const m = created(t, {
      type: BPF_MAP_TYPE_HASH,
      keySize: 4,
      valueSize: 4,
      maxEntries: 2 * LOOKUP_BATCH_ENTRIES,
    });
    const entries = Array.from({ length: n }, (_, i): [Buffer, Buffer] => [u32(i), u32(n - i)]);
    fill(m, entries);
    assert.equal(m.count(), n);
    const chunks = [...m.lookupBatch()];
    assert.equal(
      chunks.reduce((sum, c) => sum + c.count, 0),
      n,
    );
    for (const c of chunks) {
      assert.ok(c.count <= LOOKUP_BATCH_ENTRIES);
      assert.equal(c.keys.length, c.count * 4);
      assert.equal(c.values.length, c.count * 4);
    }
    assert.deepEqual(batchTable(m), hexTable(entries));
  }
});

test('a hash bucket bigger than the chunk: ENOSPC from the kernel, grown and retried by lookupBatch', (t) => {
  const m = created(t, { type: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 1024 });
  // 1000 keys in 1024 buckets: some bucket holds two or more (all distinct would take ~1e-200 luck)
  const entries = Array.from({ length: 1000 }, (_, i): [Buffer, Buffer] => [u32(i), u32(i ^ 0xffff)]);
  fill(m, entries);

  let enospc = 0;
  const token = Buffer.alloc(4);
  for (let started = false, done = false; !done; started = true) {
    try {
      done = native().mapLookupBatch(
        m.fd,
        started ? token : null,
        token,
        Buffer.alloc(4),
        Buffer.alloc(4),
        1,
      ).done;
    } catch (err) {
      assert.equal((err as { errno?: number }).errno, 28); // ENOSPC
      assert.equal((err as { syscall?: string }).syscall, 'bpf_map_lookup_batch');
      enospc++;
      break;
    }
  }
  assert.ok(enospc > 0, 'no bucket held two entries');

  assert.equal(m.count(1), 1000);
  assert.deepEqual(batchTable(m, 1), hexTable(entries));
});

test('per-CPU hash and LRU per-CPU hash: every CPU value read in batches', (t) => {
  const cpus = possibleCpus();
  for (const type of [BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH]) {
    const m = created(t, { type, keySize: 4, valueSize: 12, maxEntries: 4096 });
    assert.equal(m.storedValueSize, cpus * 16); // 12-byte values at 16-byte strides
    const perCpu = (i: number): Buffer[] =>
      Array.from({ length: cpus }, (_, cpu) => {
        const v = Buffer.alloc(12);
        v.writeUInt32LE(i, 0);
        v.writeUInt32LE(cpu, 4);
        v.writeUInt32LE(i * 31 + cpu, 8);
        return v;
      });
    const n = 3000;
    m.updateBatch(
      Array.from({ length: n }, (_, i) => u32(i)),
      Array.from({ length: n }, (_, i) => m.packPerCpu(perCpu(i))),
    );
    assert.equal(m.count(), n);
    const seen = new Set<number>();
    for (const [k, raw] of m.entries(500)) {
      const i = k.readUInt32LE();
      seen.add(i);
      assert.deepEqual(m.unpackPerCpu(raw), perCpu(i));
    }
    assert.equal(seen.size, n);
    assert.deepEqual(batchTable(m), walkTable(m));
  }
});

test('array map: batch reads every slot', (t) => {
  const m = created(t, { type: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 5000 });
  m.update(u32(4321), u32(99));
  assert.equal(m.count(LOOKUP_BATCH_ENTRIES), 5000);
  const table = batchTable(m, 1024);
  assert.equal(table.size, 5000);
  assert.equal(table.get(u32(4321).toString('hex')), u32(99).toString('hex'));
  assert.deepEqual(table, walkTable(m));
});

test('DEVMAP_HASH has no batch ops: count and entries fall back to the key walk', (t) => {
  const m = created(t, { type: BPF_MAP_TYPE_DEVMAP_HASH, keySize: 4, valueSize: 4, maxEntries: 64 });
  assert.throws(
    () => native().mapLookupBatch(m.fd, null, Buffer.alloc(4), Buffer.alloc(4), Buffer.alloc(4), 1),
    (err: unknown) => (err as { errno?: number }).errno === ENOTSUPP,
  );
  // every key redirects to lo (ifindex 1 in any namespace)
  const entries = [7, 8, 9].map((k): [Buffer, Buffer] => [u32(k), u32(LOOPBACK_IFINDEX)]);
  for (const [k, v] of entries) m.update(k, v);
  assert.equal(m.count(), 3);
  assert.deepEqual(batchTable(m, 2), hexTable(entries));
  assert.deepEqual(
    [...m.lookupBatch(2)].map((c) => c.count),
    [2, 1],
  );
});

test('lookupBatch refuses a chunk that is not a positive integer', (t) => {
  const m = created(t, { type: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 16 });
  assert.throws(() => [...m.lookupBatch(0)], { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => m.count(1.5), { code: 'ERR_INVALID_ARGUMENT' });
});
