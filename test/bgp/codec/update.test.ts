// UPDATE and path attributes against hand-written byte vectors: IPv4 with MED and (large)
// communities, IPv6 MP_REACH_NLRI with a link-local second next hop, IPv4 NLRI with an IPv6 next hop
// (RFC 8950), MP_UNREACH_NLRI, End-of-RIB, AS4_PATH/AS4_AGGREGATOR for a 2-octet peer (RFC 6793).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeAs4Path } from '../../../src/bgp/codec/attributes/as-path.js';
import { formatCommunity, parseCommunity } from '../../../src/bgp/codec/attributes/communities.js';
import { decodeMessage } from '../../../src/bgp/codec/message.js';
import { decodeUpdate, encodeEndOfRib, encodeUpdate, endOfRib } from '../../../src/bgp/codec/update.js';
import { hex, MARKER } from './vectors.js';

const AS4 = { as4: true, ebgp: true };
const AS2 = { as4: false, ebgp: true };

const V4_UPDATE = hex(`
  ${MARKER} 0059 02            # length 89, UPDATE
  0000                         # no withdrawn routes
  0039                         # 57 octets of attributes
  40 01 01 00                  # ORIGIN IGP
  40 02 0a 02 02 0000fde9 0000fdea   # AS_PATH: AS_SEQUENCE 65001 65002
  40 03 04 c0000201            # NEXT_HOP 192.0.2.1
  80 04 04 00000064            # MED 100
  c0 08 08 ffff0000 fde90064   # COMMUNITIES graceful-shutdown, 65001:100
  c0 20 0c 0000fde9 00000001 00000002  # LARGE_COMMUNITIES 65001:1:2
  20 cb007107                  # 203.0.113.7/32
  18 c63364                    # 198.51.100.0/24
`);

const V4_FIELDS = {
  withdrawn: [],
  attributes: {
    origin: 0 as const,
    asPath: [{ type: 'sequence' as const, asns: [65001, 65002] }],
    nextHop: '192.0.2.1',
    med: 100,
    communities: [0xffff0000, 0xfde90064],
    largeCommunities: [{ global: 65001, local1: 1, local2: 2 }],
  },
  nlri: [
    { afi: 1 as const, addr: '203.0.113.7', len: 32 },
    { afi: 1 as const, addr: '198.51.100.0', len: 24 },
  ],
};

test('IPv4 UPDATE with MED, communities and large communities', () => {
  assert.deepEqual(decodeUpdate(V4_UPDATE, AS4), { ...V4_FIELDS, outcomes: [], treatAsWithdraw: false });
  assert.deepEqual(encodeUpdate(V4_FIELDS, AS4), V4_UPDATE);
  assert.equal(formatCommunity(0xffff0000), 'graceful-shutdown');
  assert.equal(parseCommunity('GRACEFUL_SHUTDOWN'), 0xffff0000);
  assert.equal(parseCommunity('no-export'), 0xffffff01);
  assert.equal(formatCommunity(parseCommunity('65001:100')), '65001:100');
});

const V6_UPDATE = hex(`
  ${MARKER} 005d 02 0000 0046
  80 0e 36                     # MP_REACH_NLRI, 54 octets
  0002 01 20                   # AFI IPv6, SAFI unicast, next hop length 32
  20010db8000000000000000000000001   # 2001:db8::1
  fe800000000000000000000000000001   # fe80::1
  00                           # reserved
  80 20010db8000000000000000000000007  # 2001:db8::7/128
  40 01 01 00                  # ORIGIN IGP
  40 02 06 02 01 0000fde9      # AS_PATH 65001
`);

test('IPv6 MP_REACH_NLRI with a link-local second next hop', () => {
  const u = decodeUpdate(V6_UPDATE, AS4);
  assert.deepEqual(u.attributes.mpReach, {
    afi: 2,
    safi: 1,
    nextHops: ['2001:db8::1', 'fe80::1'],
    nlri: [{ afi: 2, addr: '2001:db8::7', len: 128 }],
  });
  assert.deepEqual(u.outcomes, []); // no NEXT_HOP needed without IPv4 NLRI
  assert.deepEqual(encodeUpdate(u, AS4), V6_UPDATE);
});

test('RFC 8950: IPv4 NLRI with an IPv6 next hop', () => {
  const msg = hex(`${MARKER} 003b 02 0000 0024
    80 0e 1a 0001 01 10 fe800000000000000000000000000001 00 20 cb007107
    40 01 01 02 40 02 00          # ORIGIN INCOMPLETE, empty AS_PATH (iBGP-style origination)
  `);
  const u = decodeUpdate(msg, AS4);
  assert.deepEqual(u.attributes.mpReach, {
    afi: 1,
    safi: 1,
    nextHops: ['fe80::1'],
    nlri: [{ afi: 1, addr: '203.0.113.7', len: 32 }],
  });
  assert.deepEqual(u.attributes.asPath, []);
  assert.deepEqual(encodeUpdate(u, AS4), msg);
});

test('MP_UNREACH_NLRI and End-of-RIB markers', () => {
  const msg = hex(`${MARKER} 0026 02 0000 000f 80 0f 0c 0002 01 40 20010db800000001`);
  const u = decodeUpdate(msg, AS4);
  assert.deepEqual(u.attributes.mpUnreach, {
    afi: 2,
    safi: 1,
    withdrawn: [{ afi: 2, addr: '2001:db8:0:1::', len: 64 }],
  });
  assert.deepEqual(encodeUpdate(u, AS4), msg);
  assert.equal(endOfRib(u), undefined);
  const eor4 = hex(`${MARKER} 0017 02 0000 0000`);
  const eor6 = hex(`${MARKER} 001d 02 0000 0006 80 0f 03 0002 01`);
  assert.deepEqual(encodeEndOfRib(1, 1, AS4), eor4);
  assert.deepEqual(encodeEndOfRib(2, 1, AS4), eor6);
  assert.deepEqual(endOfRib(decodeUpdate(eor4, AS4)), { afi: 1, safi: 1 });
  assert.deepEqual(endOfRib(decodeUpdate(eor6, AS4)), { afi: 2, safi: 1 });
});

test('withdrawn routes field; host bits beyond the length are cleared', () => {
  const ok = hex(`${MARKER} 001f 02 0008 18 c63364 11 c000ff 0000`);
  assert.deepEqual(decodeUpdate(ok, AS4).withdrawn, [
    { afi: 1, addr: '198.51.100.0', len: 24 },
    { afi: 1, addr: '192.0.128.0', len: 17 },
  ]);
});

const AS2_UPDATE = hex(`
  ${MARKER} 0051 02 0000 0035
  40 01 01 00
  40 02 06 02 02 fde9 5ba0     # AS_PATH (2-octet): 65001 AS_TRANS
  40 03 04 c0000201
  c0 07 06 5ba0 c0000201       # AGGREGATOR AS_TRANS 192.0.2.1
  c0 11 0a 02 02 0000fde9 fa56ea00   # AS4_PATH 65001 4200000000
  c0 12 08 fa56ea00 c0000201   # AS4_AGGREGATOR 4200000000 192.0.2.1
  20 cb007107
`);

test('RFC 6793: 2-octet peer, AS4_PATH and AS4_AGGREGATOR merged and re-created', () => {
  const u = decodeUpdate(AS2_UPDATE, AS2);
  assert.deepEqual(u.attributes.asPath, [{ type: 'sequence', asns: [65001, 4200000000] }]);
  assert.deepEqual(u.attributes.aggregator, { asn: 4200000000, address: '192.0.2.1' });
  assert.deepEqual(u.outcomes, []);
  assert.deepEqual(encodeUpdate(u, AS2), AS2_UPDATE);
  // The same route to a 4-octet peer carries no AS4_* attributes.
  const to4 = decodeUpdate(encodeUpdate(u, AS4), AS4);
  assert.deepEqual(to4.attributes, u.attributes);
});

test('RFC 6793 merge rules', () => {
  const seq = (...asns: number[]) => ({ type: 'sequence' as const, asns });
  // AS_PATH longer than AS4_PATH: the leading extra ASes (prepended by OLD speakers) are kept.
  assert.deepEqual(mergeAs4Path([seq(65010, 23456, 65001)], [seq(4200000000, 65001)]), [
    seq(65010, 4200000000, 65001),
  ]);
  // AS4_PATH longer than AS_PATH: AS4_PATH is ignored.
  assert.deepEqual(mergeAs4Path([seq(23456)], [seq(4200000000, 65001)]), [seq(23456)]);
  // An AS_SET counts as one.
  const set = { type: 'set' as const, asns: [1, 2, 3] };
  assert.deepEqual(mergeAs4Path([seq(65010), set, seq(23456)], [set, seq(4200000000)]), [
    seq(65010),
    set,
    seq(4200000000),
  ]);
});

test('AGGREGATOR not AS_TRANS: AS4_AGGREGATOR and AS4_PATH are ignored', () => {
  const msg = hex(`${MARKER} 0051 02 0000 0035
    40 01 01 00 40 02 06 02 02 fde9 5ba0 40 03 04 c0000201
    c0 07 06 fde9 c0000201
    c0 11 0a 02 02 0000fde9 fa56ea00
    c0 12 08 fa56ea00 c0000201
    20 cb007107`);
  const u = decodeUpdate(msg, AS2);
  assert.deepEqual(u.attributes.aggregator, { asn: 65001, address: '192.0.2.1' });
  assert.deepEqual(u.attributes.asPath, [{ type: 'sequence', asns: [65001, 23456] }]);
});

test('decodeMessage dispatches an UPDATE', () => {
  const m = decodeMessage(V4_UPDATE, AS4);
  assert.equal(m.type, 'update');
});

const IBGP_UPDATE = `
  ${MARKER} 0054 02 0000 0039
  40 01 01 01                  # ORIGIN EGP
  40 02 10 02 01 0000fde9 01 02 0000fdea 0000fdeb   # AS_PATH: AS_SEQUENCE 65001, AS_SET {65002 65003}
  40 03 04 c0000201            # NEXT_HOP 192.0.2.1
  40 05 04 00000064            # LOCAL_PREF 100
  40 06 00                     # ATOMIC_AGGREGATE
  c0 07 08 0000fde9 c0000209   # AGGREGATOR 65001 192.0.2.9 (4-octet session)
  FLAGS 63 03 010203           # unknown optional transitive attribute 99
  18 cb0071                    # 203.0.113.0/24
`;

test('iBGP UPDATE: LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR, AS_SET; unknown transitive re-sent with Partial', () => {
  const ibgp = { as4: true, ebgp: false };
  const u = decodeUpdate(hex(IBGP_UPDATE.replace('FLAGS', 'c0')), ibgp);
  assert.deepEqual(u.outcomes, []);
  assert.deepEqual(u.attributes, {
    origin: 1,
    asPath: [
      { type: 'sequence', asns: [65001] },
      { type: 'set', asns: [65002, 65003] },
    ],
    nextHop: '192.0.2.1',
    localPref: 100,
    atomicAggregate: true,
    aggregator: { asn: 65001, address: '192.0.2.9' },
    unknown: [{ code: 99, flags: 0xe0, value: Buffer.from([1, 2, 3]) }],
  });
  // Re-advertised, the only change is the Partial bit on the attribute we did not recognise (RFC 4271 §5).
  assert.deepEqual(encodeUpdate(u, ibgp), hex(IBGP_UPDATE.replace('FLAGS', 'e0')));
});
