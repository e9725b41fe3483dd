// The BFD control packet codec (RFC 5880 §4.1, §6.8.6): encode → decode round trip, the bytes of a
// known packet, and every drop reason the decoder names.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BfdState, CONTROL_LEN, decodeControl, encodeControl } from '../../src/bfd/codec.js';

const FIELDS = {
  diag: 1,
  state: BfdState.up,
  poll: true,
  detectMult: 3,
  myDiscriminator: 0x01020304,
  yourDiscriminator: 0x0a0b0c0d,
  desiredMinTxUs: 100_000,
  requiredMinRxUs: 200_000,
};

test('a control packet encodes to the RFC 5880 layout and decodes back', () => {
  const buf = encodeControl(FIELDS);
  assert.equal(buf.length, CONTROL_LEN);
  // version 1, diag 1 | state up (3<<6), P bit | mult 3 | length 24
  assert.deepEqual([...buf.subarray(0, 4)], [0x21, 0xe0, 3, 24]);
  assert.equal(buf.readUInt32BE(12), 100_000);
  const r = decodeControl(buf);
  assert.ok(r.ok);
  assert.equal(r.packet.state, BfdState.up);
  assert.equal(r.packet.poll, true);
  assert.equal(r.packet.final, false);
  assert.equal(r.packet.myDiscriminator, 0x01020304);
  assert.equal(r.packet.yourDiscriminator, 0x0a0b0c0d);
  assert.equal(r.packet.requiredMinRxUs, 200_000);
});

test('the decoder names why it drops a packet', () => {
  const good = encodeControl(FIELDS);
  const mutate = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  const cases: [string, Buffer][] = [
    ['short', good.subarray(0, 23)],
    ['version', mutate((b) => (b[0] = (2 << 5) | 1))],
    ['length', mutate((b) => (b[3] = 23))],
    ['length', mutate((b) => (b[3] = 40))], // longer than the datagram
    ['detect-mult-zero', mutate((b) => (b[2] = 0))],
    ['multipoint', mutate((b) => (b[1] |= 0x01))],
    ['my-discriminator-zero', mutate((b) => b.writeUInt32BE(0, 4))],
    ['length', mutate((b) => (b[1] |= 0x04))], // A bit with a 24-byte length
    [
      'auth-unsupported',
      Buffer.concat([
        mutate((b) => {
          b[1] |= 0x04;
          b[3] = 28;
        }),
        Buffer.alloc(4),
      ]),
    ],
  ];
  for (const [reason, buf] of cases) assert.deepEqual(decodeControl(buf), { ok: false, reason }, reason);
});

test('encode refuses fields out of range', () => {
  assert.throws(() => encodeControl({ ...FIELDS, detectMult: 256 }), RangeError);
  assert.throws(() => encodeControl({ ...FIELDS, myDiscriminator: 2 ** 32 }), RangeError);
  assert.throws(() => encodeControl({ ...FIELDS, diag: 32 }), RangeError);
});
