// A peer's `bfd` setting: off by default, `true` for 100 ms × 3, or its own timers within bounds;
// changing it does not count as a BGP session change (BFD runs beside the session).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sessionChanged } from '../../src/bgp/peer-config.js';
import { peerSchema } from '../../src/config/schema-bgp.js';

const base = { address: '192.0.2.0', remote_asn: 65001 };

test('bfd: off, true (100 ms x 3), timers, and out-of-range values refused', () => {
  assert.equal(peerSchema.parse(base).bfd, null);
  assert.deepEqual(peerSchema.parse({ ...base, bfd: true }).bfd, {
    minTxMs: 100,
    minRxMs: 100,
    multiplier: 3,
  });
  assert.deepEqual(peerSchema.parse({ ...base, bfd: { min_tx: '300ms', multiplier: 5 } }).bfd, {
    minTxMs: 300,
    minRxMs: 100,
    multiplier: 5,
  });
  assert.equal(peerSchema.safeParse({ ...base, bfd: { min_rx: '5ms' } }).success, false);
  assert.equal(peerSchema.safeParse({ ...base, bfd: { multiplier: 0 } }).success, false);
  assert.equal(peerSchema.safeParse({ ...base, bfd: { echo: true } }).success, false);
});

test('a bfd change keeps the BGP session', () => {
  const a = peerSchema.parse(base);
  const b = peerSchema.parse({ ...base, bfd: true });
  assert.equal(sessionChanged(a, b), false);
});
