// The next-hop checks of received routes, pure: own address (RFC 4271 §5.1.3), not on-link on a
// single-hop session, family not negotiated (RFC 4760 §7), and the cases that must pass (a multihop
// peer's next hop, a link-local one with its interface, addresses unknown).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Afi, Safi } from '../../src/bgp/codec/constants.js';
import { type NexthopContext, negotiated, nexthopProblem, onLink } from '../../src/bgp/nexthop-check.js';
import type { InterfaceAddress } from '../../src/netlink/rtnl-codec.js';

const addr = (address: string, prefixLength: number, ifindex = 2): InterfaceAddress => ({
  family: address.includes(':') ? 6 : 4,
  ifindex,
  address,
  prefixLength,
  scope: 0,
  label: null,
});
const ADDRESSES = [
  addr('192.0.2.0', 31),
  addr('2001:db8:1::', 127),
  addr('fe80::2', 64),
  addr('198.51.100.11', 32, 1),
];
const ctx = (o: Partial<NexthopContext> = {}): NexthopContext => ({
  families: [{ afi: Afi.IPV4, safi: Safi.UNICAST }],
  addresses: ADDRESSES,
  own: ['203.0.113.10'],
  peerAddress: '192.0.2.1',
  unnumbered: false,
  ...o,
});

test('own addresses: an interface address, the host address on lo, a VIP, any IPv6 spelling', () => {
  assert.equal(nexthopProblem({ gateway: '192.0.2.0' }, ctx()), 'nexthop-own-address');
  assert.equal(nexthopProblem({ gateway: '198.51.100.11' }, ctx()), 'nexthop-own-address');
  assert.equal(nexthopProblem({ gateway: '203.0.113.10' }, ctx()), 'nexthop-own-address');
  assert.equal(
    nexthopProblem({ gateway: '2001:0db8:0001:0:0:0:0:0' }, ctx({ peerAddress: '2001:db8:1::1' })),
    'nexthop-own-address',
  );
  assert.equal(nexthopProblem({ gateway: '192.0.2.1' }, ctx()), undefined);
});

test('on-link: required on a single-hop session, not for a multihop peer', () => {
  assert.equal(nexthopProblem({ gateway: '203.0.113.99' }, ctx()), 'nexthop-not-on-link');
  assert.equal(
    nexthopProblem({ gateway: '2001:db8:99::1' }, ctx({ peerAddress: '2001:db8:1::1' })),
    'nexthop-not-on-link',
  );
  // the peer itself is no neighbour (multihop): its next hop may be anywhere
  assert.equal(nexthopProblem({ gateway: '203.0.113.99' }, ctx({ peerAddress: '203.0.113.1' })), undefined);
  assert.ok(onLink('192.0.2.1', ADDRESSES));
  assert.ok(!onLink('198.51.100.12', ADDRESSES), 'a /32 on lo holds nothing');
});

test('link-local next hops need the interface; unknown addresses skip the address checks', () => {
  const unnumbered = ctx({ peerAddress: null, unnumbered: true });
  assert.equal(nexthopProblem({ gateway: 'fe80::1', ifindex: 2 }, unnumbered), undefined);
  assert.equal(nexthopProblem({ gateway: 'fe80::1' }, unnumbered), 'nexthop-missing');
  assert.equal(nexthopProblem({ gateway: 'fe80::2', ifindex: 2 }, unnumbered), 'nexthop-own-address');
  assert.equal(nexthopProblem(undefined, ctx()), 'nexthop-missing');
  assert.equal(nexthopProblem({ gateway: '203.0.113.99' }, ctx({ addresses: undefined })), undefined);
  assert.equal(
    nexthopProblem({ gateway: '203.0.113.10' }, ctx({ addresses: undefined })),
    'nexthop-own-address',
  );
});

test('families: only the negotiated AFI/SAFI', () => {
  const v4only = [{ afi: Afi.IPV4, safi: Safi.UNICAST }];
  assert.ok(negotiated({ afi: Afi.IPV4, addr: '0.0.0.0', len: 0 }, v4only));
  assert.ok(!negotiated({ afi: Afi.IPV6, addr: '::', len: 0 }, v4only));
  assert.ok(!negotiated({ afi: Afi.IPV4, addr: '0.0.0.0', len: 0 }, []));
});
