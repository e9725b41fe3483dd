// Adj-RIB-In (accepted routes, received count for max-prefix, graceful-restart stale marks) and
// Adj-RIB-Out (identical re-advertisement detected by signature).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExportAttributes } from '../../src/bgp/announcer.js';
import { Afi } from '../../src/bgp/codec/constants.js';
import { exportSignature } from '../../src/bgp/export.js';
import { AdjRibIn, AdjRibOut } from '../../src/bgp/rib.js';

const D4 = { afi: Afi.IPV4, addr: '0.0.0.0', len: 0 };
const D6 = { afi: Afi.IPV6, addr: '::', len: 0 };
const OTHER = { afi: Afi.IPV4, addr: '10.0.0.0', len: 8 };
const ATTRS = { origin: 0 as const, nextHop: '192.0.2.1' };

test('Adj-RIB-In keeps accepted routes and counts every announced prefix', () => {
  const rib = new AdjRibIn();
  assert.equal(rib.announce(D4, ATTRS, true), true);
  assert.equal(rib.announce(OTHER, ATTRS, false), false);
  assert.equal(rib.receivedCount, 2);
  assert.equal(rib.acceptedCount, 1);
  assert.equal(rib.get(D4)?.attributes.nextHop, '192.0.2.1');
  assert.equal(rib.get(OTHER), undefined);
  // a re-announcement that policy now rejects takes the route out
  assert.equal(rib.announce(D4, ATTRS, false), true);
  assert.equal(rib.acceptedCount, 0);
  assert.equal(rib.withdraw(OTHER), false);
  assert.equal(rib.receivedCount, 1);
  assert.equal(rib.withdraw(D4), false);
  assert.equal(rib.receivedCount, 0);
});

test('graceful restart: stale marks per family, swept by family or all', () => {
  const rib = new AdjRibIn();
  rib.announce(D4, ATTRS, true);
  rib.announce(D6, ATTRS, true);
  assert.equal(rib.markStale(), 2);
  assert.equal(rib.hasStale(), true);
  // the restarted peer re-announces the IPv4 default: fresh again
  rib.announce(D4, ATTRS, true);
  assert.equal(rib.get(D4)?.stale, false);
  assert.deepEqual(rib.sweepStale(Afi.IPV4), []);
  assert.deepEqual(rib.sweepStale(Afi.IPV6), [D6]);
  assert.equal(rib.hasStale(), false);
  assert.equal(rib.acceptedCount, 1);
  assert.equal(rib.receivedCount, 1);
  assert.deepEqual(rib.clear(), [D4]);
  assert.equal(rib.receivedCount, 0);
});

test('Adj-RIB-Out: identical re-advertisement is not a change; new attributes are', () => {
  const out = new AdjRibOut<ExportAttributes>(exportSignature);
  const vip = { afi: Afi.IPV4, addr: '203.0.113.10', len: 32 };
  assert.equal(out.advertise(vip, {}), true);
  assert.equal(out.advertise(vip, {}), false);
  assert.equal(out.advertise(vip, { prepend: 0 }), false);
  assert.equal(out.advertise(vip, { med: 10 }), true);
  assert.deepEqual(out.routes(), [{ prefix: vip, attributes: { med: 10 } }]);
  assert.equal(out.withdraw(vip), true);
  assert.equal(out.withdraw(vip), false);
  assert.equal(out.size, 0);
});
