// The Maglev build as it was before the typed-array rewrite (src/steer/maglev.ts), kept only as a test
// and bench oracle: the new build must give byte-identical tables, and the bench measures both in one run.
import { hashBytes } from '../../src/steer/hash.js';
import { EMPTY, type MaglevMember, type MaglevTable } from '../../src/steer/maglev.js';

const OFFSET_SEED = 0x6d61676c;
const SKIP_SEED = 0x65763173;

const byId = (a: MaglevMember, b: MaglevMember): number =>
  Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));

/** The former buildMaglev, unchanged but for the input checks (the caller's inputs are valid). */
export function buildMaglevOracle(members: readonly MaglevMember[], size: number): MaglevTable {
  const sorted = [...members].sort(byId);
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
