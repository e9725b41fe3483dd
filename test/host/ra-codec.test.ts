// Router Advertisement codec (RFC 4861 §4.2, §4.6.1, §6.1.2): our RA byte for byte, decoding of
// RAs of other routers (an MTU option after the source link-layer address), and every
// discard verdict of the receiver's validity checks.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ourAdvertisement } from '../../src/host/ra.js';
import {
  decodeRouterAdvertisement,
  encodeRouterAdvertisement,
  isLinkLocal6,
  type RouterAdvertisement,
} from '../../src/host/ra-codec.js';

const OURS = ourAdvertisement('02:00:5e:10:00:01');
const LL = 'fe80::1';

test('our RA: type 134, code 0, checksum left to the kernel, lifetime 0, SLLA option', () => {
  const b = encodeRouterAdvertisement(OURS);
  assert.equal(b.toString('hex'), `86000000 00000000 00000000 00000000 0101 02005e100001`.replace(/ /g, ''));
  assert.deepEqual(decodeRouterAdvertisement(b, LL, 255), OURS);
});

test('fields and flags round-trip; no SLLA option gives a 16-byte message', () => {
  const ra: RouterAdvertisement = {
    curHopLimit: 64,
    managed: true,
    other: true,
    routerLifetime: 1800,
    reachableTimeMs: 30_000,
    retransTimerMs: 1_000,
    sourceLinkLayer: null,
  };
  const b = encodeRouterAdvertisement(ra);
  assert.equal(b.length, 16);
  assert.equal(b.toString('hex'), '8600000040c00708000075300000' + '03e8');
  assert.deepEqual(decodeRouterAdvertisement(b, LL, 255), ra);
});

test("another router's RA: hop limit 64, lifetime 30 s, SLLA then an MTU option", () => {
  const other = Buffer.from(
    '8600abcd 4000001e 00000000 00000000 0101 aabbccddeeff 0501 0000 000005dc'.replace(/ /g, ''),
    'hex',
  );
  const ra = decodeRouterAdvertisement(other, 'fe80::a8bb:ccff:fedd:eeff', 255);
  assert.notEqual(typeof ra, 'string');
  assert.equal((ra as RouterAdvertisement).routerLifetime, 30);
  assert.equal((ra as RouterAdvertisement).curHopLimit, 64);
  assert.equal((ra as RouterAdvertisement).sourceLinkLayer, 'aa:bb:cc:dd:ee:ff');
});

test('RFC 4861 §6.1.2 discards, each named', () => {
  const good = encodeRouterAdvertisement(OURS);
  assert.equal(decodeRouterAdvertisement(good, LL, 64), 'hop-limit-not-255');
  assert.deepEqual(decodeRouterAdvertisement(good, LL, -1), OURS); // socket could not tell: not checked
  assert.equal(decodeRouterAdvertisement(good, '2001:db8::1', 255), 'source-not-link-local');
  assert.equal(decodeRouterAdvertisement(good, '192.0.2.1', 255), 'source-not-link-local');
  assert.equal(decodeRouterAdvertisement(good.subarray(0, 15), LL, 255), 'too-short');
  const code = Buffer.from(good);
  code[1] = 1;
  assert.equal(decodeRouterAdvertisement(code, LL, 255), 'bad-code');
  const zeroLen = Buffer.from(good);
  zeroLen[17] = 0;
  assert.equal(decodeRouterAdvertisement(zeroLen, LL, 255), 'bad-option-length');
  const overrun = Buffer.from(good);
  overrun[17] = 2;
  assert.equal(decodeRouterAdvertisement(overrun, LL, 255), 'bad-option-length');
  assert.equal(
    decodeRouterAdvertisement(Buffer.concat([good, Buffer.from([1])]), LL, 255),
    'bad-option-length',
  );
  const rs = Buffer.from(good);
  rs[0] = 133;
  assert.equal(decodeRouterAdvertisement(rs, LL, 255), 'not-router-advertisement');
  assert.equal(decodeRouterAdvertisement(Buffer.alloc(0), LL, 255), 'not-router-advertisement');
});

test('link-local test and MAC validation', () => {
  assert.ok(isLinkLocal6('fe80::1'));
  assert.ok(isLinkLocal6('FEBF::1'));
  assert.ok(!isLinkLocal6('fec0::1'));
  assert.ok(!isLinkLocal6('fe80'));
  assert.throws(() => encodeRouterAdvertisement({ ...OURS, sourceLinkLayer: '02:00:5e:10:00' }), RangeError);
});
