// IP text <-> bytes: vectors for IPv4, IPv6 compression (RFC 5952) and rejects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIp, parseIp, parsePrefix, unmappedV4 } from '../../src/netlink/ip.js';

const VECTORS: [string, string, string][] = [
  // text in, bytes (hex), canonical text out
  ['192.0.2.1', 'c0000201', '192.0.2.1'],
  ['0.0.0.0', '00000000', '0.0.0.0'],
  ['::', '0'.repeat(32), '::'],
  ['::1', `${'0'.repeat(30)}01`, '::1'],
  ['2001:db8::1', `20010db8${'0'.repeat(22)}01`, '2001:db8::1'],
  ['2001:DB8:0:0:1:0:0:1', '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
  ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
  ['fe80::1%eth0', `fe80${'0'.repeat(26)}01`, 'fe80::1'],
  ['::ffff:192.0.2.1', `${'0'.repeat(20)}ffffc0000201`, '::ffff:c000:201'],
  ['2001:db8::', `20010db8${'0'.repeat(24)}`, '2001:db8::'],
];

test('parseIp / formatIp vectors', () => {
  for (const [text, hex, canonical] of VECTORS) {
    const ip = parseIp(text);
    assert.equal(ip.bytes.toString('hex'), hex, text);
    assert.equal(formatIp(ip.bytes), canonical, text);
  }
});

test('prefixes and rejects', () => {
  assert.deepEqual(parsePrefix('0.0.0.0/0'), { family: 4, bytes: Buffer.alloc(4), length: 0 });
  assert.equal(parsePrefix('2001:db8::/32').length, 32);
  assert.equal(parsePrefix('203.0.113.7').length, 32);
  for (const bad of [
    '1.2.3',
    '1.2.3.256',
    '2001:db8:::1',
    'x',
    '10.0.0.0/33',
    '10.0.0.0/',
    '::/129',
    '::/1.5',
  ]) {
    assert.throws(() => parsePrefix(bad), { code: 'ERR_INVALID_ARGUMENT' }, bad);
  }
});

test('unmappedV4: an IPv4-mapped address as a dual-stack socket reports it becomes IPv4; others unchanged', () => {
  assert.equal(unmappedV4('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(unmappedV4('2001:db8::1'), '2001:db8::1');
  assert.equal(unmappedV4('::ffff:2001:db8::1'), '::ffff:2001:db8::1');
  assert.equal(unmappedV4('198.51.100.7'), '198.51.100.7');
});
