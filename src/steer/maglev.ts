// Weighted Maglev lookup tables (Eisenbud et al., NSDI 2016, §3.4; weights as in Katran's v2):
// deterministic on every host — instances sorted by their stable id (byte order), each one's
// permutation (offset, skip) from a fixed hash of the id — so the same set gives byte-identical
// tables whatever order the config lists it in. The table holds indexes into the sorted id list.
// Built on typed arrays with each permutation advanced by one addition, nothing allocated per entry:
// ~1–3 ms for 65,537 entries whatever the member count (test/steer/maglev.test.ts holds it byte-identical
// to the former build, bench/maglev-build.bench.ts times both).
import { AnycastdError } from '../errors.js';
import { hashBytes } from './hash.js';

export const DEFAULT_RING_SIZE = 65537;
const OFFSET_SEED = 0x6d61676c; // "magl"
const SKIP_SEED = 0x65763173; // "ev1s"
export const EMPTY = 0xffffffff; // table entry of an empty instance set

export interface MaglevMember {
  readonly id: string; // stable across hosts, e.g. "h2/web"
  readonly weight?: number; // positive integer, default 1
}

export interface MaglevTable {
  readonly ids: readonly string[]; // members by id, the table's index space
  readonly table: Uint32Array; // length = size; entry = index into ids, or EMPTY
}

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** Builds the table for `members` (order irrelevant) with `size` entries (a prime). */
export function buildMaglev(members: readonly MaglevMember[], size = DEFAULT_RING_SIZE): MaglevTable {
  if (!isPrime(size))
    throw new AnycastdError('ERR_INVALID_ARGUMENT', `maglev: ring size ${size} is not a prime`);
  // ids in byte order (UTF-8), each encoded once
  const sorted = members
    .map((m) => ({ id: m.id, bytes: Buffer.from(m.id), weight: m.weight ?? 1 }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.id === sorted[i - 1]!.id)
      throw new AnycastdError('ERR_INVALID_ARGUMENT', `maglev: duplicate id ${sorted[i]!.id}`);
  }
  for (const m of sorted) {
    if (!Number.isInteger(m.weight) || m.weight < 1)
      throw new AnycastdError('ERR_INVALID_ARGUMENT', `maglev: weight of ${m.id} must be a positive integer`);
  }
  const table = new Uint32Array(size).fill(EMPTY);
  const n = sorted.length;
  if (n === 0) return { ids: [], table };
  // Each member's permutation is offset + k·skip (mod size), k = 0, 1, ...: `pos` holds the entry of
  // its next k, advanced by one addition (the product never needs forming).
  const pos = new Int32Array(n);
  const skip = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    pos[i] = hashBytes(sorted[i]!.bytes, OFFSET_SEED) % size;
    skip[i] = (hashBytes(sorted[i]!.bytes, SKIP_SEED) % (size - 1)) + 1;
  }
  const weight = sorted.map((m) => m.weight);
  fill(table, pos, skip, weight.every((w) => w === weight[0]) ? null : Float64Array.from(weight));
  return { ids: sorted.map((m) => m.id), table };
}

/**
 * One bit per entry, set once the entry is taken: the probes read this (8 KiB for 65,537 entries, held
 * in the L1 cache) rather than the 256 KiB table.
 */
const takenBits = (size: number): Int32Array => new Int32Array(Math.ceil(size / 32));

/**
 * Members take turns, each its next free entry, until the table is full. With weights (Katran's v2;
 * null: all equal) a member earns its weight in credit each round and takes an entry only once its
 * credit reaches the largest weight, which it then spends.
 */
function fill(table: Uint32Array, pos: Int32Array, skip: Int32Array, weight: Float64Array | null): void {
  const size = table.length;
  const n = pos.length;
  let maxWeight = 0;
  for (const w of weight ?? []) if (w > maxWeight) maxWeight = w;
  const credit = new Float64Array(weight ? n : 0);
  const taken = takenBits(size);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      if (weight) {
        credit[i]! += weight[i]!;
        if (credit[i]! < maxWeight) continue;
        credit[i]! -= maxWeight;
      }
      const s = skip[i]!;
      let c = pos[i]!;
      while ((taken[c >>> 5]! >>> (c & 31)) & 1) {
        c += s;
        if (c >= size) c -= size;
      }
      taken[c >>> 5]! |= 1 << (c & 31);
      table[c] = i;
      c += s;
      pos[i] = c >= size ? c - size : c;
      if (++filled === size) return;
    }
  }
}

/**
 * The table with each member index replaced by `slots[index]` and an empty entry by `none` (the data
 * plane's instance slots): one pass over a typed array.
 */
export function tableSlots(t: MaglevTable, slots: ArrayLike<number>, none: number): Uint32Array {
  const out = new Uint32Array(t.table.length);
  const table = t.table;
  for (let i = 0; i < table.length; i++) {
    const e = table[i]!;
    out[i] = e === EMPTY ? none : slots[e]!;
  }
  return out;
}

/** Entries per member id. */
export function shares(t: MaglevTable): Map<string, number> {
  const counts = new Uint32Array(t.ids.length);
  for (const e of t.table) if (e !== EMPTY) counts[e]!++;
  return new Map(t.ids.map((id, i) => [id, counts[i]!]));
}

/**
 * Disruption between two tables of the same size: entries whose owner changed although the old owner
 * is still in the new set (moves beyond the unavoidable share of members that left or joined).
 */
export function extraMoves(before: MaglevTable, after: MaglevTable): number {
  const still = new Set(after.ids);
  let moved = 0;
  for (let i = 0; i < before.table.length; i++) {
    const a = before.table[i]!;
    if (a === EMPTY) continue;
    const id = before.ids[a]!;
    const b = after.table[i]!;
    if (still.has(id) && (b === EMPTY || after.ids[b] !== id)) moved++;
  }
  return moved;
}
