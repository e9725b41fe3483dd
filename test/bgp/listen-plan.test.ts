// The listen plan (listen-plan.ts) from a host's addresses as rtnetlink reports them: a numbered peer
// is listened for on the address whose connected prefix holds it (the longest), never on lo's VIPs or
// host address; a configured local address is taken as it is; an unnumbered peer on every link-local
// address of its interface, scoped; a peer nothing holds is reported; peers sharing an address share
// one endpoint.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listenAddressesOf, listenPlan } from '../../src/bgp/listen-plan.js';
import { peerSchema } from '../../src/config/schema-bgp.js';
import type { InterfaceAddress } from '../../src/netlink/rtnl-codec.js';

const LO = 1;
const UP1 = 2;
const UP2 = 3;
const addr = (ifindex: number, cidr: string): InterfaceAddress => {
  const [address, len] = cidr.split('/');
  return {
    family: address!.includes(':') ? 6 : 4,
    ifindex,
    address: address!,
    prefixLength: Number(len),
    scope: 0,
    label: null,
  };
};
const HOST = {
  addresses: [
    addr(LO, '127.0.0.1/8'),
    addr(LO, '198.51.100.11/32'), // host address
    addr(LO, '203.0.113.10/32'), // VIP
    addr(LO, '2001:db8:ffff::10/128'), // VIP
    addr(UP1, '192.0.2.11/31'),
    addr(UP1, '2001:db8:2::11/127'),
    addr(UP1, 'fe80::1/64'),
    addr(UP1, '192.0.0.1/16'), // a wider prefix holding the same peer: not the facing one
    addr(UP2, 'fe80::2/64'),
    addr(UP2, 'fe80::aa:2/64'),
  ],
  ifindexOf: (name: string) => ({ up1: UP1, up2: UP2 })[name],
};
const peer = (o: Record<string, unknown>) => peerSchema.parse({ remote_asn: 65001, ...o });

test('a numbered peer: the address of the longest connected prefix holding it', () => {
  assert.deepEqual(listenAddressesOf(peer({ address: '192.0.2.10' }), HOST), [
    { family: 4, address: '192.0.2.11', scopeId: 0 },
  ]);
  assert.deepEqual(listenAddressesOf(peer({ address: '2001:db8:2::10' }), HOST), [
    { family: 6, address: '2001:db8:2::11', scopeId: 0 },
  ]);
});

test('never a VIP or the host address unless local_address names it', () => {
  // A multihop peer no connected prefix holds: nothing (it connects out; local_address is needed to listen).
  assert.deepEqual(listenAddressesOf(peer({ address: '203.0.113.99' }), HOST), []);
  assert.deepEqual(listenAddressesOf(peer({ address: '198.51.100.1' }), HOST), []);
  assert.deepEqual(
    listenAddressesOf(peer({ address: '198.51.100.1', local_address: '198.51.100.11' }), HOST),
    [{ family: 4, address: '198.51.100.11', scopeId: 0 }],
  );
  // A configured address the host does not have yet is still the plan (bound with IP_FREEBIND).
  assert.deepEqual(listenAddressesOf(peer({ address: '192.0.2.99', local_address: '192.0.2.98' }), HOST), [
    { family: 4, address: '192.0.2.98', scopeId: 0 },
  ]);
});

test('an unnumbered peer: every link-local address of its interface, scoped to it; none while it is missing', () => {
  assert.deepEqual(listenAddressesOf(peer({ interface: 'up2' }), HOST), [
    { family: 6, address: 'fe80::2', scopeId: UP2 },
    { family: 6, address: 'fe80::aa:2', scopeId: UP2 },
  ]);
  assert.deepEqual(listenAddressesOf(peer({ interface: 'eth9' }), HOST), []);
});

test('the plan: shared endpoints, unplaced peers named', () => {
  const { endpoints, unplaced } = listenPlan(
    [
      peer({ name: 'a', address: '192.0.2.10' }),
      peer({ name: 'b', address: '192.0.2.10', local_address: '192.0.2.11', passive: true }),
      peer({ name: 'c', interface: 'up1' }),
      peer({ name: 'd', address: '203.0.113.99' }),
    ],
    HOST,
  );
  assert.deepEqual(
    [...endpoints].map(([k, e]) => [k, e.peers]),
    [
      ['192.0.2.11', ['a', 'b']],
      [`fe80::1%${UP1}`, ['c']],
    ],
  );
  assert.deepEqual(unplaced, ['d']);
});
