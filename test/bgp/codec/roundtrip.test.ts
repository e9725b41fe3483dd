// Round trips: structured message → encode → decode gives the same structure back, over a spread
// of attribute combinations, both AS sizes, both address families and every capability kind.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PathAttributes } from '../../../src/bgp/codec/attributes/types.js';
import type { Capability } from '../../../src/bgp/codec/capabilities.js';
import { decodeMessage } from '../../../src/bgp/codec/message.js';
import { decodeOpen, encodeOpen } from '../../../src/bgp/codec/open.js';
import type { Prefix } from '../../../src/bgp/codec/prefix.js';
import { decodeUpdate, encodeUpdate } from '../../../src/bgp/codec/update.js';

const V4: Prefix[] = [
  { afi: 1, addr: '0.0.0.0', len: 0 },
  { afi: 1, addr: '203.0.113.0', len: 25 },
  { afi: 1, addr: '198.51.100.128', len: 31 },
];
const V6: Prefix[] = [
  { afi: 2, addr: '::', len: 0 },
  { afi: 2, addr: '2001:db8:1::', len: 48 },
  { afi: 2, addr: '2001:db8::7', len: 128 },
];

const ATTRS: PathAttributes[] = [
  { origin: 0, asPath: [], nextHop: '192.0.2.1' },
  {
    origin: 2,
    asPath: [
      { type: 'sequence', asns: [65001, 4200000000, 65001] },
      { type: 'set', asns: [1, 2, 4200000001] },
    ],
    nextHop: '198.51.100.1',
    med: 0,
    atomicAggregate: true,
    aggregator: { asn: 4200000000, address: '192.0.2.9' },
    communities: [0xffff0000, 0xffffff01],
    largeCommunities: [{ global: 4200000000, local1: 0, local2: 0xffffffff }],
  },
  {
    origin: 1,
    asPath: [{ type: 'sequence', asns: Array.from({ length: 300 }, (_, i) => 64512 + i) }],
    mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1', 'fe80::1'], nlri: V6 },
    mpUnreach: { afi: 2, safi: 1, withdrawn: [{ afi: 2, addr: '2001:db8:2::', len: 64 }] },
    unknown: [{ code: 99, flags: 0xe0, value: Buffer.alloc(300, 7) }],
  },
  {
    origin: 0,
    asPath: [{ type: 'sequence', asns: [65001] }],
    mpReach: { afi: 1, safi: 1, nextHops: ['fe80::1'], nlri: V4 },
  },
];

test('UPDATE round trips, 4-octet and 2-octet sessions', () => {
  for (const as4 of [true, false]) {
    for (const attributes of ATTRS) {
      const u = { withdrawn: V4.slice(1), attributes, nlri: attributes.nextHop ? V4 : [] };
      const back = decodeUpdate(encodeUpdate(u, { as4, ebgp: true }), { as4, ebgp: true });
      assert.deepEqual(back.outcomes, []);
      // a 300-AS sequence comes back as two segments of one type: compare flattened
      const flat = (a: PathAttributes) => ({
        ...a,
        asPath: a.asPath?.flatMap((s) => s.asns.map((n) => `${s.type}:${n}`)),
      });
      assert.deepEqual(flat(back.attributes), flat(attributes));
      assert.deepEqual([back.withdrawn, back.nlri], [u.withdrawn, u.nlri]);
    }
  }
});

test('LOCAL_PREF round trips on iBGP and is not sent on eBGP', () => {
  const attributes: PathAttributes = { origin: 0, asPath: [], nextHop: '192.0.2.1', localPref: 200 };
  const ibgp = { as4: true, ebgp: false };
  assert.equal(decodeUpdate(encodeUpdate({ attributes }, ibgp), ibgp).attributes.localPref, 200);
  const ebgp = { as4: true, ebgp: true };
  assert.equal(decodeUpdate(encodeUpdate({ attributes }, ebgp), ebgp).attributes.localPref, undefined);
});

test('OPEN round trips every capability kind, also split over several parameters', () => {
  const caps: Capability[] = [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'route-refresh' },
    { kind: 'enhanced-route-refresh' },
    { kind: 'four-octet-as', asn: 4200000000 },
    {
      kind: 'graceful-restart',
      restarting: true,
      notification: false,
      time: 4095,
      families: [
        { afi: 1, safi: 1, forwardingPreserved: false },
        { afi: 2, safi: 1, forwardingPreserved: true },
      ],
    },
    { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
    { kind: 'unknown', code: 73, value: Buffer.alloc(200, 1) },
  ];
  const open = { myAs: 23456, holdTime: 3, bgpId: '203.0.113.1', capabilities: caps };
  const wire = encodeOpen(open);
  assert.deepEqual(decodeOpen(wire), { version: 4, ...open });
  assert.equal(decodeMessage(wire, { as4: true, ebgp: true }).type, 'open');
});
