// Import policy verdicts (FRR prefix-list semantics, from the config's own parser), a peer's import
// and max-prefix defaults, and the parsing of export communities from config text.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Afi } from '../../src/bgp/codec/constants.js';
import { ImportPolicy, parseCommunity, parseLargeCommunity } from '../../src/bgp/policy.js';
import { DEFAULT_IMPORT, parsePrefixMatch, peerSchema } from '../../src/config/schema-bgp.js';

const policy = (...texts: string[]) => new ImportPolicy(texts.map((t) => parsePrefixMatch(t)!));
const v4 = (addr: string, len: number) => ({ afi: Afi.IPV4, addr, len });
const v6 = (addr: string, len: number) => ({ afi: Afi.IPV6, addr, len });

test('the default policy accepts only 0.0.0.0/0 and ::/0', () => {
  const p = policy(...DEFAULT_IMPORT);
  assert.equal(p.accepts(v4('0.0.0.0', 0)), true);
  assert.equal(p.accepts(v6('::', 0)), true);
  assert.equal(p.accepts(v4('0.0.0.0', 1)), false);
  assert.equal(p.accepts(v4('10.0.0.0', 8)), false);
  assert.equal(p.accepts(v4('203.0.113.7', 32)), false);
  assert.equal(p.accepts(v6('2001:db8::', 32)), false);
  assert.equal(p.accepts(v6('::', 1)), false);
});

test('a peer without import or max_prefix: exactly the default routes, at most 16 prefixes, withdraw', () => {
  const peer = peerSchema.parse({ address: '192.0.2.1', remote_asn: 65001 });
  assert.deepEqual(
    peer.importAccept.map((m) => [m.prefix, m.ge, m.le]),
    [
      ['0.0.0.0/0', 0, 0],
      ['::/0', 0, 0],
    ],
  );
  assert.deepEqual(peer.maxPrefix, { limit: 16, action: 'withdraw' });
  const limitOnly = peerSchema.parse({ address: '192.0.2.1', remote_asn: 65001, max_prefix: { limit: 4 } });
  assert.deepEqual(limitOnly.maxPrefix, { limit: 4, action: 'withdraw' });
});

test('ge/le widen a match to a range of lengths inside the prefix', () => {
  const p = policy('10.0.0.0/8 ge 16 le 24', '2001:db8::/32 le 48');
  assert.equal(p.accepts(v4('10.1.0.0', 16)), true);
  assert.equal(p.accepts(v4('10.1.2.0', 24)), true);
  assert.equal(p.accepts(v4('10.0.0.0', 8)), false); // below ge
  assert.equal(p.accepts(v4('10.1.2.128', 25)), false); // above le
  assert.equal(p.accepts(v4('11.1.0.0', 16)), false); // outside
  assert.equal(p.accepts(v6('2001:db8:1::', 48)), true);
  assert.equal(p.accepts(v6('2001:db8::', 32)), true);
  assert.equal(p.accepts(v6('2001:db9::', 32)), false);
  assert.equal(p.accepts(v4('0.0.0.0', 0)), false);
});

test('bit-level prefix comparison at a non-octet length', () => {
  const p = policy('192.0.2.128/25 le 32');
  assert.equal(p.accepts(v4('192.0.2.200', 32)), true);
  assert.equal(p.accepts(v4('192.0.2.127', 32)), false);
});

test('no entries: everything rejected; family must match', () => {
  assert.equal(new ImportPolicy([]).accepts(v4('0.0.0.0', 0)), false);
  assert.equal(policy('0.0.0.0/0').accepts(v6('::', 0)), false);
});

test('communities from config text', () => {
  assert.equal(parseCommunity('65535:0'), 0xffff0000);
  assert.equal(parseCommunity('65000:100'), 0xfde80064);
  assert.deepEqual(parseLargeCommunity('4200000000:1:2'), { global: 4200000000, local1: 1, local2: 2 });
});
