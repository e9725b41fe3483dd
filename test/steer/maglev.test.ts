// Maglev: prime sizes only, byte-identical tables whatever the input order, shares proportional to
// weights, and little disruption beyond the unavoidable when members leave.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildMaglev, EMPTY, extraMoves, isPrime, shares, tableSlots } from '../../src/steer/maglev.js';
import { buildMaglevOracle } from './maglev-oracle.js';

const members = (n: number, from = 0): { id: string }[] =>
  Array.from({ length: n }, (_, i) => ({ id: `h${i + from}/web` }));

test('the size must be a prime', () => {
  assert.throws(() => buildMaglev(members(3), 65536), { code: 'ERR_INVALID_ARGUMENT' });
  assert.equal(isPrime(65537), true);
  assert.equal(buildMaglev(members(3), 251).table.length, 251);
});

test('bad member sets are refused', () => {
  assert.throws(() => buildMaglev([{ id: 'a' }, { id: 'a' }]), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => buildMaglev([{ id: 'a', weight: 0 }]), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => buildMaglev([{ id: 'a', weight: 1.5 }]), { code: 'ERR_INVALID_ARGUMENT' });
});

test('the same set in any order gives a byte-identical table', () => {
  const set = [...members(7), { id: 'z/web', weight: 3 }];
  const a = buildMaglev(set);
  for (let trial = 0; trial < 5; trial++) {
    const shuffled = [...set].sort(() => Math.random() - 0.5);
    const b = buildMaglev(shuffled);
    assert.deepEqual(b.ids, a.ids);
    assert.equal(Buffer.compare(Buffer.from(b.table.buffer), Buffer.from(a.table.buffer)), 0);
  }
  assert.deepEqual(a.ids, [...a.ids].sort(), 'index space is the ids in byte order');
});

test('a golden table: the same three ids give these entries on every host and every version', () => {
  const t = buildMaglev([{ id: 'h1' }, { id: 'h2' }, { id: 'h3' }], 251);
  assert.deepEqual([...t.table.subarray(0, 16)], [1, 1, 2, 2, 2, 0, 1, 2, 2, 0, 1, 1, 0, 0, 2, 2]);
});

test('every entry is filled, each member gets a share within 1% of its weight', () => {
  const t = buildMaglev([
    { id: 'a', weight: 1 },
    { id: 'b', weight: 2 },
    { id: 'c', weight: 5 },
    { id: 'd' },
  ]);
  assert.ok(!t.table.includes(EMPTY));
  const s = shares(t);
  const total = 1 + 2 + 5 + 1;
  for (const [id, w] of [
    ['a', 1],
    ['b', 2],
    ['c', 5],
    ['d', 1],
  ] as const) {
    const expected = (65537 * w) / total;
    assert.ok(Math.abs(s.get(id)! - expected) / expected < 0.01, `${id}: ${s.get(id)} vs ${expected}`);
  }
  const even = shares(buildMaglev(members(10)));
  for (const n of even.values()) assert.ok(Math.abs(n - 6553.7) < 66, `even share ${n}`);
});

test('an empty set gives an empty table', () => {
  const t = buildMaglev([]);
  assert.ok(t.table.every((e) => e === EMPTY));
});

test('when one of N leaves, few entries move beyond its own share', () => {
  for (const n of [3, 10, 100]) {
    const before = buildMaglev(members(n));
    const after = buildMaglev(members(n).slice(1));
    const moved = extraMoves(before, after);
    assert.ok(moved / 65537 < 0.02, `N=${n}: ${moved} extra moves`);
    // all entries of the member that left are reassigned
    assert.ok(!after.ids.includes('h0/web'));
  }
  const same = buildMaglev(members(5));
  assert.equal(extraMoves(same, buildMaglev(members(5))), 0);
});

test('byte-identical to the former build for many sets, sizes and weights', () => {
  const rand = (() => {
    let x = 0x2545f491; // a fixed xorshift: the same sets every run
    return (n: number): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
  })();
  const sets: { members: { id: string; weight?: number }[]; size: number }[] = [
    { members: members(1), size: 65537 },
    { members: members(2), size: 65537 },
    { members: members(3), size: 251 },
    { members: members(10), size: 65537 },
    { members: members(100), size: 65537 },
    { members: members(1000), size: 65537 },
    { members: members(300), size: 251 }, // more members than entries
    { members: [{ id: 'é/web' }, { id: 'z/web' }, { id: '日本/web' }, { id: 'Z' }], size: 65537 },
    { members: members(7).map((m) => ({ ...m, weight: 3 })), size: 65537 }, // equal weights > 1
  ];
  for (let k = 0; k < 6; k++) {
    const n = 1 + rand(200);
    sets.push({
      members: Array.from({ length: n }, (_, i) => ({ id: `s${k}-i${rand(1e6)}-${i}`, weight: 1 + rand(9) })),
      size: [13, 251, 4099, 65537][rand(4)]!,
    });
  }
  for (const { members: set, size } of sets) {
    const a = buildMaglev(set, size);
    const b = buildMaglevOracle(set, size);
    assert.deepEqual(a.ids, b.ids);
    assert.ok(
      Buffer.from(a.table.buffer).equals(Buffer.from(b.table.buffer)),
      `${set.length} members, size ${size}: tables differ`,
    );
  }
});

test("tableSlots names each entry by its member's slot, an empty entry by the given none", () => {
  const t = buildMaglev(members(3), 13);
  const slots = tableSlots(t, [7, 8, 9], 0xffffffff);
  assert.deepEqual(
    [...slots],
    [...t.table].map((e) => [7, 8, 9][e]),
  );
  assert.ok(tableSlots(buildMaglev([], 13), [], 42).every((e) => e === 42));
});
