// What a change of a Maglev ring does to new flows: the share of buckets whose instance changes between
// the table built from one member set and the table built from another (the real builder, maglev.ts),
// i.e. the share of new flows that would land elsewhere. Flows already in the flow table keep their
// instance. Tables of different sizes (a ring_size change) are compared on a uniform sample of flow
// hashes, since a flow's bucket is its hash modulo the size.
import { buildMaglev, EMPTY, type MaglevMember, type MaglevTable } from './maglev.js';

/** Flow hashes sampled when the sizes differ: ±0.2% at this count. */
export const SIZE_CHANGE_SAMPLES = 1 << 18;
/** An odd step through the 32-bit hash space, so the sample covers it evenly. */
const HASH_STEP = 0x9e3779b1;
const HASH_SPACE = 2 ** 32;

export interface RingSide {
  members: readonly MaglevMember[];
  size: number;
}

export interface RingMove {
  /** Share of buckets (and so of new flows) whose instance changes, 0..1. */
  moved: number;
  /** Each instance's share of the ring after the change. */
  after: Map<string, number>;
  /** True when the sizes differ and `moved` comes from a sample. */
  sampled: boolean;
}

const owner = (t: MaglevTable, bucket: number): string | null => {
  const e = t.table[bucket]!;
  return e === EMPTY ? null : t.ids[e]!;
};

export function ringMove(before: RingSide, after: RingSide): RingMove {
  const a = buildMaglev(before.members, before.size);
  const b = buildMaglev(after.members, after.size);
  const shares = new Map<string, number>(b.ids.map((id) => [id, 0]));
  for (const e of b.table) if (e !== EMPTY) shares.set(b.ids[e]!, shares.get(b.ids[e]!)! + 1 / after.size);
  let moved = 0;
  if (before.size === after.size) {
    for (let i = 0; i < after.size; i++) if (owner(a, i) !== owner(b, i)) moved++;
    return { moved: moved / after.size, after: shares, sampled: false };
  }
  for (let k = 0; k < SIZE_CHANGE_SAMPLES; k++) {
    const h = (k * HASH_STEP) % HASH_SPACE;
    if (owner(a, h % before.size) !== owner(b, h % after.size)) moved++;
  }
  return { moved: moved / SIZE_CHANGE_SAMPLES, after: shares, sampled: true };
}
