// The flow hash is MurmurHash3 x86_32 (the published test vectors hold), and the address parser gives
// the 16-byte steer.h form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addr16, ipv6Bytes } from '../../src/steer/addr.js';
import { hashBytes, hashWords } from '../../src/steer/hash.js';

const h = (s: string, seed: number): number => hashWords(Buffer.from(s, 'latin1'), seed);

test('murmur3_32 published vectors', () => {
  assert.equal(h('', 0), 0);
  assert.equal(h('', 1), 0x514e28b7);
  assert.equal(h('', 0xffffffff), 0x81f16f39);
  assert.equal(h('\0\0\0\0', 0), 0x2362f9de);
  assert.equal(h('aaaa', 0x9747b28c), 0x5a97808a);
  assert.equal(h('test', 0), 0xba6bd213);
  assert.throws(() => hashWords(Buffer.from('abc'), 0), RangeError);
  assert.notEqual(hashBytes(Buffer.from('h1'), 0), hashBytes(Buffer.from('h1\0'), 0), 'length is mixed in');
});

test('addresses in the 16-byte form', () => {
  assert.equal(addr16('192.0.2.1').toString('hex'), 'c0000201'.padEnd(32, '0'));
  assert.equal(ipv6Bytes('2001:db8::1').toString('hex'), '20010db8000000000000000000000001');
  assert.equal(ipv6Bytes('::ffff:192.0.2.1').toString('hex'), '00000000000000000000ffffc0000201');
  assert.equal(ipv6Bytes('2001:db8:1:2:3:4:5:6').toString('hex'), '20010db8000100020003000400050006');
  assert.throws(() => addr16('192.0.2'), { code: 'ERR_INVALID_ARGUMENT' });
});
