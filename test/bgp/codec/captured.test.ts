// Messages captured from a real FRR 8.4 bgpd and a real BIRD 2.0 (test/fixtures/bgp/*.hex, made by
// test/fixtures/bgp/capture.ts): each decodes without any RFC 7606 outcome, carries what the daemon
// was configured to send, and survives decode → encode → decode (and the framer, byte by byte).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { findCapability, hasFamily } from '../../../src/bgp/codec/capabilities.js';
import { Framer } from '../../../src/bgp/codec/framer.js';
import { type BgpMessage, decodeMessage } from '../../../src/bgp/codec/message.js';
import { encodeOpen } from '../../../src/bgp/codec/open.js';
import { type DecodedUpdate, encodeUpdate, endOfRib } from '../../../src/bgp/codec/update.js';

const CTX = { as4: true, ebgp: true };

function load(name: string): Buffer[] {
  const text = readFileSync(new URL(`../../fixtures/bgp/${name}`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => Buffer.from(l.split(' ')[1]!, 'hex'));
}

function updates(msgs: BgpMessage[]): DecodedUpdate[] {
  return msgs.filter((m): m is Extract<BgpMessage, { type: 'update' }> => m.type === 'update');
}

function checkAll(raw: Buffer[]): BgpMessage[] {
  const f = new Framer();
  const framed = Buffer.concat(raw).reduce<Buffer[]>((acc, _b, i, all) => {
    acc.push(...f.push(all.subarray(i, i + 1)));
    return acc;
  }, []);
  assert.deepEqual(framed, raw);
  const msgs = raw.map((m) => decodeMessage(m, CTX));
  for (const u of updates(msgs)) {
    assert.deepEqual(u.outcomes, []);
    const again = decodeMessage(encodeUpdate(u, CTX), CTX);
    assert.deepEqual(again, { type: 'update', ...u });
  }
  return msgs;
}

test('FRR 8.4: OPEN capabilities, UPDATE attributes, IPv6 over an IPv4 session', () => {
  const msgs = checkAll(load('frr-8.4.hex'));
  const open = msgs[0]!;
  assert.equal(open.type, 'open');
  if (open.type !== 'open') return;
  assert.deepEqual([open.myAs, open.holdTime, open.bgpId], [65001, 180, '192.0.2.1']);
  assert.ok(hasFamily(open.capabilities, 1, 1) && hasFamily(open.capabilities, 2, 1));
  assert.deepEqual(findCapability(open.capabilities, 'four-octet-as'), { kind: 'four-octet-as', asn: 65001 });
  assert.ok(findCapability(open.capabilities, 'route-refresh'));
  assert.ok(findCapability(open.capabilities, 'enhanced-route-refresh'));
  assert.equal(findCapability(open.capabilities, 'graceful-restart')?.time, 120);
  assert.deepEqual(decodeMessage(encodeOpen(open), CTX), open); // unknown capabilities (FQDN...) echo back
  const [v4, v6, v4b] = updates(msgs);
  assert.deepEqual(v4!.nlri, [{ afi: 1, addr: '198.51.100.0', len: 24 }]);
  assert.deepEqual(v4!.attributes, {
    origin: 0,
    asPath: [{ type: 'sequence', asns: [65001] }],
    nextHop: '192.0.2.1',
    med: 50,
    communities: [0xfde90064, 0xffff0000],
    largeCommunities: [{ global: 65001, local1: 1, local2: 2 }],
  });
  assert.deepEqual(v6!.attributes.mpReach, {
    afi: 2,
    safi: 1,
    nextHops: ['::ffff:c000:201'],
    nlri: [{ afi: 2, addr: '2001:db8:1::', len: 48 }],
  });
  assert.deepEqual(v4b!.nlri, [{ afi: 1, addr: '203.0.113.0', len: 25 }]);
  assert.equal(v4b!.attributes.med, 0);
});

test('BIRD 2.0: 4-octet AS with AS_TRANS, large communities, End-of-RIB for both families', () => {
  const msgs = checkAll(load('bird-2.0.hex'));
  const open = msgs[0]!;
  assert.equal(open.type, 'open');
  if (open.type !== 'open') return;
  assert.deepEqual([open.myAs, open.holdTime, open.bgpId], [23456, 240, '192.0.2.3']);
  assert.deepEqual(findCapability(open.capabilities, 'four-octet-as'), {
    kind: 'four-octet-as',
    asn: 4200000001,
  });
  const ups = updates(msgs);
  const v4 = ups.find((u) => u.nlri.length > 0)!;
  assert.deepEqual(v4.attributes.asPath, [{ type: 'sequence', asns: [4200000001] }]);
  assert.deepEqual(v4.attributes.communities, [0xfde90064]);
  assert.deepEqual(v4.attributes.largeCommunities, [{ global: 65001, local1: 1, local2: 2 }]);
  assert.equal(v4.attributes.med, undefined);
  const v6 = ups.find((u) => u.attributes.mpReach)!;
  assert.deepEqual(v6.attributes.mpReach!.nlri, [{ afi: 2, addr: '2001:db8:1::', len: 48 }]);
  assert.deepEqual(
    ups.map(endOfRib).filter((e) => e !== undefined),
    [
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
    ],
  );
});
