// The agent's table cache: one build per member set and ring size, the last few kept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TableCache } from '../../src/agent/table-cache.js';
import { buildMaglev } from '../../src/steer/maglev.js';

const set = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `h${i}` }));

test('the same set and size give the same table once built; another size or set is built anew', () => {
  const cache = new TableCache(2);
  const a = cache.build(set(3), 'h0,h1,h2', 251);
  assert.equal(cache.build(set(3), 'h0,h1,h2', 251), a, 'a hit');
  assert.deepEqual([...a.table], [...buildMaglev(set(3), 251).table]);
  const other = cache.build(set(3), 'h0,h1,h2', 13);
  assert.equal(other.table.length, 13);
  assert.equal(cache.build(set(3), 'h0,h1,h2', 251), a, 'a hit: now the most recently used');
  cache.build(set(2), 'h0,h1', 251); // a third entry: the least recently used (size 13) goes
  assert.equal(cache.build(set(3), 'h0,h1,h2', 251), a, 'still kept');
  assert.notEqual(cache.build(set(3), 'h0,h1,h2', 13), other, 'evicted: built again');
});
