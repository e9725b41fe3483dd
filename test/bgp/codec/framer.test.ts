// The framer against a stream of real messages split at every byte boundary, fed one byte at a time
// and all at once; header errors surface as soon as the 19-octet header is complete.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BgpCodecError } from '../../../src/bgp/codec/errors.js';
import { Framer } from '../../../src/bgp/codec/framer.js';
import { encodeKeepalive } from '../../../src/bgp/codec/keepalive.js';
import { encodeNotification } from '../../../src/bgp/codec/notification.js';
import { encodeOpen } from '../../../src/bgp/codec/open.js';
import { encodeUpdate } from '../../../src/bgp/codec/update.js';
import { hex, MARKER } from './vectors.js';

const CTX = { as4: true, ebgp: true };
const MESSAGES = [
  encodeOpen({ myAs: 65001, holdTime: 90, bgpId: '192.0.2.1', capabilities: [{ kind: 'route-refresh' }] }),
  encodeKeepalive(),
  encodeUpdate(
    {
      attributes: { origin: 0, asPath: [{ type: 'sequence', asns: [65001] }], nextHop: '192.0.2.1' },
      nlri: [{ afi: 1, addr: '203.0.113.7', len: 32 }],
    },
    CTX,
  ),
  encodeNotification({ code: 6, subcode: 2 }),
];
const STREAM = Buffer.concat(MESSAGES);

test('framer: every two-chunk split yields the same messages', () => {
  for (let i = 0; i <= STREAM.length; i++) {
    const f = new Framer();
    const out = [...f.push(STREAM.subarray(0, i)), ...f.push(STREAM.subarray(i))];
    assert.deepEqual(out, MESSAGES, `split at ${i}`);
    assert.equal(f.buffered, 0);
  }
});

test('framer: every three-chunk split yields the same messages', () => {
  for (let i = 0; i <= STREAM.length; i += 3) {
    for (let j = i; j <= STREAM.length; j += 5) {
      const f = new Framer();
      const out = [
        ...f.push(STREAM.subarray(0, i)),
        ...f.push(STREAM.subarray(i, j)),
        ...f.push(STREAM.subarray(j)),
      ];
      assert.deepEqual(out, MESSAGES, `split at ${i}, ${j}`);
    }
  }
});

test('framer: one byte at a time, message boundaries exact', () => {
  const f = new Framer();
  const ends: number[] = [];
  const out: Buffer[] = [];
  for (let i = 0; i < STREAM.length; i++) {
    const got = f.push(STREAM.subarray(i, i + 1));
    if (got.length > 0) ends.push(i + 1);
    out.push(...got);
  }
  assert.deepEqual(out, MESSAGES);
  let acc = 0;
  assert.deepEqual(
    ends,
    MESSAGES.map((m) => (acc += m.length)),
  );
});

test('framer: bad marker and bad length are reported once the header is in', () => {
  const f = new Framer();
  const bad = hex(`${MARKER.replace(/^ff/, '00')} 0013 04`);
  assert.deepEqual(f.push(bad.subarray(0, 18)), []);
  assert.throws(
    () => f.push(bad.subarray(18)),
    (e: BgpCodecError) => e.notifyCode === 1 && e.notifySubcode === 1,
  );
  assert.throws(
    () => new Framer().push(hex(`${MARKER} 1001 02`)),
    (e: BgpCodecError) => e.notifySubcode === 2 && e.data.equals(hex('1001')),
  );
  const big = new Framer();
  big.maxLength = 65535; // RFC 8654 extended messages negotiated
  assert.deepEqual(big.push(hex(`${MARKER} 1001 02`)), []);
  assert.equal(big.buffered, 19);
});
