// The agent's table cache: one table per member set and ring size, the last few kept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TableCache } from '../../src/agent/table-cache.js';
import { buildMaglev } from '../../src/steer/maglev.js';

const set = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `h${i}` }));

test('a table is kept by set and size; the least recently used goes past the bound', () => {
  const cache = new TableCache(2);
  assert.equal(cache.get('h0,h1,h2', 251), undefined);
  const a = cache.put('h0,h1,h2', 251, buildMaglev(set(3), 251));
  assert.equal(cache.get('h0,h1,h2', 251), a, 'a hit');
  assert.equal(cache.get('h0,h1,h2', 13), undefined, 'another size is another table');
  const other = cache.put('h0,h1,h2', 13, buildMaglev(set(3), 13));
  assert.equal(cache.get('h0,h1,h2', 251), a, 'a hit: now the most recently used');
  cache.put('h0,h1', 251, buildMaglev(set(2), 251)); // a third entry: the least recently used (size 13) goes
  assert.equal(cache.get('h0,h1,h2', 251), a, 'still kept');
  assert.equal(cache.get('h0,h1,h2', 13), undefined, 'evicted');
  assert.ok(other);
});
