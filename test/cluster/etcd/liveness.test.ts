// The watch's liveness rule (src/cluster/etcd/watch-liveness.ts `behind`), pure: a watch is behind when
// the store holds a later change or another key count than it delivered, or when it has not been
// established for long. Against a real etcd the check is in liveness.slow.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WATCH_ESTABLISH_MS } from '../../../src/cluster/etcd/limits.js';
import { behind } from '../../../src/cluster/etcd/watch-liveness.js';

test('behind: a later mod revision, another key count, or a watch not established for long', () => {
  const w = { live: true, unestablishedMs: 0, revision: 10, keys: 3, delivered: 5 };
  assert.equal(behind(w, { maxModRevision: 10, count: 3 }), null);
  assert.match(behind(w, { maxModRevision: 11, count: 3 }) ?? '', /change at revision 11.*stopped at 10/);
  assert.match(behind(w, { maxModRevision: 9, count: 2 }) ?? '', /holds 2 keys, the watch 3/);
  assert.equal(behind({ ...w, keys: null }, { maxModRevision: 9, count: 2 }), null, 'count unknown');
  const late = { ...w, unestablishedMs: WATCH_ESTABLISH_MS };
  assert.match(behind(late, { maxModRevision: 9, count: 3 }) ?? '', /not established after/);
  assert.equal(behind({ ...late, unestablishedMs: 1 }, { maxModRevision: 11, count: 3 }), null, 'given time');
});
