// UPDATEs built by export.ts, compared byte for byte with hand-written vectors (classic IPv4 with
// NEXT_HOP, IPv6 in MP_REACH_NLRI, IPv4 over IPv6 next hops per RFC 8950, MED, prepend, communities,
// withdrawals, End-of-RIB of both families), decoded back with the codec, and split so that 2,000
// prefixes never make a message longer than 4096 octets.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Afi, MAX_MESSAGE_LENGTH, WellKnownCommunity } from '../../src/bgp/codec/constants.js';
import type { Prefix } from '../../src/bgp/codec/prefix.js';
import { decodeUpdate, encodeUpdate, endOfRib } from '../../src/bgp/codec/update.js';
import {
  buildUpdates,
  canExport,
  type ExportSession,
  endOfRibUpdate,
  exportSignature,
  withPeerCommunities,
} from '../../src/bgp/export.js';
import { rawUpdate } from './codec/vectors.js';

const CTX = { as4: true, ebgp: true };
const V4 = { afi: 1, safi: 1 };
const V6 = { afi: 2, safi: 1 };
const VIP4: Prefix = { afi: Afi.IPV4, addr: '203.0.113.10', len: 32 };
const VIP6: Prefix = { afi: Afi.IPV6, addr: '2001:db8:ffff::10', len: 128 };
const S4: ExportSession = {
  localAs: 65101,
  ibgp: false,
  families: [V4],
  extendedNextHop: false,
  ipv4NextHop: '192.0.2.0',
};
const S6: ExportSession = {
  localAs: 65101,
  ibgp: false,
  families: [V6],
  extendedNextHop: false,
  ipv6NextHops: ['2001:db8:1::'],
};
const ORIGIN_IGP = '40 01 01 00';
const AS_PATH_65101 = '40 02 06 02 01 0000fe4d'; // AS_SEQUENCE of one 4-octet AS
const NEXT_HOP = '40 03 04 c0000200';

function bytes(
  s: ExportSession,
  announce: { prefix: Prefix; attributes?: object }[],
  withdraw: Prefix[] = [],
): Buffer[] {
  return buildUpdates(
    announce.map((a) => ({ prefix: a.prefix, attributes: a.attributes ?? {} })),
    withdraw,
    s,
  ).map((u) => encodeUpdate(u, CTX));
}

test('IPv4 VIP on an IPv4 session: ORIGIN IGP, AS_PATH = local AS, NEXT_HOP = local address', () => {
  const [u, more] = bytes(S4, [{ prefix: VIP4 }]);
  assert.equal(more, undefined);
  assert.deepEqual(
    u,
    rawUpdate({ attrs: `${ORIGIN_IGP} ${AS_PATH_65101} ${NEXT_HOP}`, nlri: '20 cb00710a' }),
  );
  assert.equal(
    u!.toString('hex'),
    `${'ff'.repeat(16)}003002000000144001010040020602010000fe4d400304c000020020cb00710a`,
  );
});

test('MED, two prepends and GRACEFUL_SHUTDOWN: exact bytes', () => {
  const attributes = { med: 50, prepend: 2, communities: [WellKnownCommunity.GRACEFUL_SHUTDOWN] };
  const [u] = bytes(S4, [{ prefix: VIP4, attributes }]);
  const path = '40 02 0e 02 03 0000fe4d 0000fe4d 0000fe4d';
  assert.deepEqual(
    u,
    rawUpdate({
      attrs: `${ORIGIN_IGP} ${path} ${NEXT_HOP} 80 04 04 00000032 c0 08 04 ffff0000`,
      nlri: '20 cb00710a',
    }),
  );
});

test('large communities are sent sorted, the peer config ones merged in', () => {
  const a = withPeerCommunities(
    { largeCommunities: [{ global: 65101, local1: 2, local2: 3 }] },
    [0xfde80064],
    [{ global: 65101, local1: 1, local2: 1 }],
  );
  assert.deepEqual(a.communities, [0xfde80064]);
  const [u] = bytes(S4, [{ prefix: VIP4, attributes: a }]);
  const lc = 'c0 20 18 0000fe4d 00000001 00000001 0000fe4d 00000002 00000003';
  assert.deepEqual(
    u,
    rawUpdate({
      attrs: `${ORIGIN_IGP} ${AS_PATH_65101} ${NEXT_HOP} c0 08 04 fde80064 ${lc}`,
      nlri: '20 cb00710a',
    }),
  );
});

test('IPv6 VIP on an IPv6 session: MP_REACH_NLRI first, 16-octet next hop, no NEXT_HOP', () => {
  const [u] = bytes(S6, [{ prefix: VIP6 }]);
  const mp = '80 0e 26 0002 01 10 20010db8000100000000000000000000 00 80 20010db8ffff00000000000000000010';
  assert.deepEqual(u, rawUpdate({ attrs: `${mp} ${ORIGIN_IGP} ${AS_PATH_65101}` }));
  assert.equal(u!.length, 77);
});

test('IPv4 over an IPv6 session needs extended next hop (RFC 8950): global + link-local next hop', () => {
  const plain: ExportSession = { ...S6, families: [V4, V6] };
  assert.equal(canExport(VIP4, plain), false);
  assert.deepEqual(bytes(plain, [{ prefix: VIP4 }]), []);
  const enh: ExportSession = { ...plain, extendedNextHop: true, ipv6NextHops: ['2001:db8:1::', 'fe80::1'] };
  const [u] = bytes(enh, [{ prefix: VIP4 }]);
  const d = decodeUpdate(u!, CTX);
  assert.deepEqual(d.attributes.mpReach, {
    afi: 1,
    safi: 1,
    nextHops: ['2001:db8:1::', 'fe80::1'],
    nlri: [VIP4],
  });
  assert.equal(d.attributes.nextHop, undefined);
  assert.deepEqual(d.nlri, []);
  // next hop length 32 (global + link-local)
  assert.equal(u!.subarray(23, 23 + 8).toString('hex'), '800e2a0001012020');
});

test('a prefix of a family the session did not negotiate is not sent', () => {
  assert.deepEqual(bytes(S4, [{ prefix: VIP6 }]), []);
  assert.deepEqual(bytes(S6, [{ prefix: VIP4 }]), []);
});

test('withdrawals: classic field for IPv4, MP_UNREACH_NLRI for IPv6; exact bytes', () => {
  assert.deepEqual(bytes(S4, [], [VIP4]), [rawUpdate({ withdrawn: '20 cb00710a' })]);
  assert.deepEqual(bytes(S6, [], [VIP6]), [
    rawUpdate({ attrs: '80 0f 14 0002 01 80 20010db8ffff00000000000000000010' }),
  ]);
});

test('End-of-RIB: empty UPDATE for IPv4, empty MP_UNREACH_NLRI for IPv6 (RFC 4724 §2)', () => {
  const e4 = encodeUpdate(endOfRibUpdate(Afi.IPV4), CTX);
  const e6 = encodeUpdate(endOfRibUpdate(Afi.IPV6), CTX);
  assert.equal(e4.toString('hex'), `${'ff'.repeat(16)}0017020000 0000`.replace(' ', ''));
  assert.deepEqual(e6, rawUpdate({ attrs: '80 0f 03 0002 01' }));
  assert.deepEqual(endOfRib(decodeUpdate(e4, CTX)), V4);
  assert.deepEqual(endOfRib(decodeUpdate(e6, CTX)), V6);
});

test('routes with equal attributes share an UPDATE; different ones do not', () => {
  const b = { afi: Afi.IPV4, addr: '203.0.113.11', len: 32 } as const;
  const c = { afi: Afi.IPV4, addr: '203.0.113.12', len: 32 } as const;
  const us = bytes(S4, [{ prefix: VIP4 }, { prefix: b }, { prefix: c, attributes: { med: 10 } }]);
  assert.equal(us.length, 2);
  assert.deepEqual(decodeUpdate(us[0]!, CTX).nlri, [VIP4, b]);
  assert.deepEqual(decodeUpdate(us[1]!, CTX).nlri, [c]);
  assert.equal(decodeUpdate(us[1]!, CTX).attributes.med, 10);
});

test('2,000 prefixes per family are split into messages of at most 4096 octets, none lost', () => {
  const v4: Prefix[] = [];
  const v6: Prefix[] = [];
  for (let i = 0; i < 2000; i++) {
    v4.push({ afi: Afi.IPV4, addr: `203.0.${112 + (i >> 8)}.${i & 0xff}`, len: 32 });
    v6.push({ afi: Afi.IPV6, addr: `2001:db8:ffff::${i.toString(16)}`, len: 128 });
  }
  const both: ExportSession = { ...S4, families: [V4, V6], ipv6NextHops: ['2001:db8:1::'] };
  const us = bytes(
    both,
    [...v4, ...v6].map((prefix) => ({ prefix })),
  );
  assert.ok(us.every((u) => u.length <= MAX_MESSAGE_LENGTH));
  const got = us.flatMap((u) => {
    const d = decodeUpdate(u, CTX);
    return [...d.nlri, ...(d.attributes.mpReach?.nlri ?? [])];
  });
  assert.equal(got.length, 4000);
  assert.deepEqual(new Set(got.map((p) => `${p.addr}/${p.len}`)).size, 4000);
  // 5 octets per IPv4 /32: a full message holds more than 800
  assert.ok(us.length <= 3 + 10, `${us.length} messages`);
});

test('iBGP: empty AS_PATH and LOCAL_PREF 100', () => {
  const [u] = buildUpdates([{ prefix: VIP4, attributes: {} }], [], { ...S4, ibgp: true }).map((m) =>
    encodeUpdate(m, { as4: true, ebgp: false }),
  );
  assert.deepEqual(
    u,
    rawUpdate({ attrs: `${ORIGIN_IGP} 40 02 00 ${NEXT_HOP} 40 05 04 00000064`, nlri: '20 cb00710a' }),
  );
});

test('the signature ignores what does not reach the wire', () => {
  assert.equal(exportSignature({}), exportSignature({ prepend: 0, communities: [] }));
  assert.notEqual(exportSignature({ med: 0 }), exportSignature({}));
});
