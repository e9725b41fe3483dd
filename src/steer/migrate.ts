// Copying a pinned map into the wider map of a newer layout (src/steer/pin-plan.ts): every entry, its
// value widened with zeros (per-CPU values each widened at the kernel's stride); and, after the new
// program replaced the old one, the entries the old program inserted meanwhile (hash maps: the program
// inserts flows; arrays are written by the agent alone, or are counters).
import { SystemError } from '../errors.js';
import type { BpfMap } from '../native/index.js';
import {
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
} from '../native/map.js';

const INSERTING_TYPES: ReadonlySet<number> = new Set([BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH]);
const ARRAY_TYPES: ReadonlySet<number> = new Set([BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY]);

/** `from`'s stored value in `to`'s form: each value zero-extended to `to.valueSize`. */
function widen(from: BpfMap, to: BpfMap, value: Buffer): Buffer {
  const one = (v: Buffer): Buffer => {
    const out = Buffer.alloc(to.valueSize);
    v.copy(out, 0, 0, from.valueSize);
    return out;
  };
  return from.perCpu ? to.packPerCpu(from.unpackPerCpu(value).map(one)) : one(value);
}

/** An array's keys past `to`'s capacity (a smaller array: the rings of fewer services) are left out. */
const fits = (to: BpfMap, key: Buffer): boolean =>
  !ARRAY_TYPES.has(to.type) || key.readUInt32LE(0) < to.maxEntries;

/** Copies every entry of `from` into `to` (batch updates) that `to` has room for; how many. */
export function copyEntries(from: BpfMap, to: BpfMap): number {
  let n = 0;
  for (const chunk of from.lookupBatch()) {
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    const vs = from.storedValueSize;
    for (let i = 0; i < chunk.count; i++) {
      const key = chunk.keys.subarray(i * from.keySize, (i + 1) * from.keySize);
      if (!fits(to, key)) continue;
      keys.push(key);
      values.push(widen(from, to, chunk.values.subarray(i * vs, (i + 1) * vs)));
    }
    if (keys.length > 0) to.updateBatch(keys, values);
    n += keys.length;
  }
  return n;
}

/**
 * After the swap: the entries `from` holds that `to` lacks (what the old program inserted since the
 * copy), never overwriting what the new program recorded since. Only for maps a program inserts into
 * (hash, LRU hash); 0 for others. How many were added.
 */
export function copyMissing(from: BpfMap, to: BpfMap): number {
  if (!INSERTING_TYPES.has(from.type)) return 0;
  const have = new Set<string>();
  for (const [k] of to.entries()) have.add(k.toString('hex'));
  let n = 0;
  for (const [k, v] of from.entries()) {
    if (have.has(k.toString('hex'))) continue;
    try {
      to.update(Buffer.from(k), widen(from, to, v), 'noexist');
      n++;
    } catch (err) {
      if (!(err instanceof SystemError) || err.code !== 'EEXIST') throw err; // the new program's own entry
    }
  }
  return n;
}
