// Maglev: prime sizes only, byte-identical tables whatever the input order, shares proportional to
// weights, and little disruption beyond the unavoidable when members leave.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildMaglev, EMPTY, extraMoves, isPrime, shares } from '../../src/steer/maglev.js';

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
