// Weighted Maglev lookup tables (Eisenbud et al., NSDI 2016, §3.4; weights as in Katran's v2):
// deterministic on every host — instances sorted by their stable id (byte order), each one's
// permutation (offset, skip) from a fixed hash of the id — so the same set gives byte-identical
// tables whatever order the config lists it in. The table holds indexes into the sorted id list.
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

const byId = (a: MaglevMember, b: MaglevMember): number =>
  Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));

/** Builds the table for `members` (order irrelevant) with `size` entries (a prime). */
export function buildMaglev(members: readonly MaglevMember[], size = DEFAULT_RING_SIZE): MaglevTable {
  if (!isPrime(size))
    throw new AnycastdError('ERR_INVALID_ARGUMENT', `maglev: ring size ${size} is not a prime`);
  const sorted = [...members].sort(byId);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.id === sorted[i - 1]!.id)
      throw new AnycastdError('ERR_INVALID_ARGUMENT', `maglev: duplicate id ${sorted[i]!.id}`);
  }
  for (const m of sorted) {
    const w = m.weight ?? 1;
    if (!Number.isInteger(w) || w < 1)
      throw new AnycastdError('ERR_INVALID_ARGUMENT', `maglev: weight of ${m.id} must be a positive integer`);
  }
  const table = new Uint32Array(size).fill(EMPTY);
  const n = sorted.length;
  if (n === 0) return { ids: [], table };
  const offset = new Float64Array(n);
  const skip = new Float64Array(n);
  const next = new Float64Array(n);
  const weight = sorted.map((m) => m.weight ?? 1);
  const maxWeight = Math.max(...weight);
  const credit = new Float64Array(n);
  sorted.forEach((m, i) => {
    const id = Buffer.from(m.id);
    offset[i] = hashBytes(id, OFFSET_SEED) % size;
    skip[i] = (hashBytes(id, SKIP_SEED) % (size - 1)) + 1;
  });
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      credit[i]! += weight[i]!;
      if (credit[i]! < maxWeight) continue;
      credit[i]! -= maxWeight;
      let c: number;
      do {
        c = (offset[i]! + next[i]! * skip[i]!) % size;
        next[i]!++;
      } while (table[c] !== EMPTY);
      table[c] = i;
      if (++filled === size) return { ids: sorted.map((m) => m.id), table };
    }
  }
}

/** Entries per member id. */
export function shares(t: MaglevTable): Map<string, number> {
  const out = new Map<string, number>(t.ids.map((id) => [id, 0]));
  for (const e of t.table) if (e !== EMPTY) out.set(t.ids[e]!, out.get(t.ids[e]!)! + 1);
  return out;
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
