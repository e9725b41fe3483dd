// RFC 7606 outcomes, one row per rule: {description, attributes/NLRI bytes, context, expected outcome}.
// A row expects either a session reset (thrown BgpCodecError with NOTIFICATION code/subcode) or the
// list of non-fatal actions with their reasons, and whether the NLRI is treated as withdrawn.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttrContext } from '../../../src/bgp/codec/attributes/types.js';
import { BgpCodecError } from '../../../src/bgp/codec/errors.js';
import { decodeUpdate, updateRoutes } from '../../../src/bgp/codec/update.js';
import { BASE_ATTRS, NLRI_V4, rawUpdate } from './vectors.js';

const EBGP = { as4: true, ebgp: true };
const IBGP = { as4: true, ebgp: false };
const OLD = { as4: false, ebgp: true };

const ORIGIN = '40 01 01 00';
const AS_PATH = '40 02 06 02 01 0000fde9';
const NEXT_HOP = '40 03 04 c0000201';
const MP_REACH_V6 =
  '80 0e 26 0002 01 10 20010db8000000000000000000000001 00 80 20010db8000000000000000000000007';

interface Row {
  what: string;
  attrs: string;
  nlri?: string;
  withdrawn?: string;
  ctx?: AttrContext;
  /** [action, reason, subcode] of each non-fatal outcome, in order */
  outcomes?: [string, string, number][];
  /** NOTIFICATION [code, subcode, reason] for a session reset */
  reset?: [number, number, string];
}

const ROWS: Row[] = [
  { what: 'well-formed', attrs: BASE_ATTRS, nlri: NLRI_V4, outcomes: [] },
  {
    what: 'ORIGIN length 2',
    attrs: `40 01 02 0000 ${AS_PATH} ${NEXT_HOP}`,
    outcomes: [['treat-as-withdraw', 'origin-bad-length', 5]],
  },
  {
    what: 'ORIGIN value 3',
    attrs: `40 01 01 03 ${AS_PATH} ${NEXT_HOP}`,
    outcomes: [['treat-as-withdraw', 'origin-bad-value', 6]],
  },
  {
    what: 'AS_PATH unknown segment type',
    attrs: `${ORIGIN} 40 02 06 05 01 0000fde9 ${NEXT_HOP}`,
    outcomes: [['treat-as-withdraw', 'as-path-bad-segment-type', 11]],
  },
  {
    what: 'AS_PATH segment overrun',
    attrs: `${ORIGIN} 40 02 06 02 02 0000fde9 ${NEXT_HOP}`,
    outcomes: [['treat-as-withdraw', 'as-path-segment-overrun', 11]],
  },
  {
    what: 'AS_PATH one octet left after a segment',
    attrs: `${ORIGIN} 40 02 07 02 01 0000fde9 02 ${NEXT_HOP}`,
    outcomes: [['treat-as-withdraw', 'as-path-segment-underrun', 11]],
  },
  {
    what: 'AS_PATH zero-length segment',
    attrs: `${ORIGIN} 40 02 02 02 00 ${NEXT_HOP}`,
    outcomes: [['treat-as-withdraw', 'as-path-empty-segment', 11]],
  },
  {
    what: 'AS_PATH confederation segment from an eBGP peer',
    attrs: `${ORIGIN} 40 02 06 03 01 0000fde9 ${NEXT_HOP}`,
    outcomes: [['treat-as-withdraw', 'as-path-confed-from-ebgp', 11]],
  },
  {
    what: 'AS_PATH from an eBGP peer not starting with its AS (enforce first AS)',
    attrs: `${ORIGIN} 40 02 06 02 01 0000fdea ${NEXT_HOP}`,
    ctx: { ...EBGP, peerAs: 65001 },
    outcomes: [['treat-as-withdraw', 'as-path-first-as-mismatch', 11]],
  },
  {
    what: 'empty AS_PATH from an eBGP peer (enforce first AS)',
    attrs: `${ORIGIN} 40 02 00 ${NEXT_HOP}`,
    ctx: { ...EBGP, peerAs: 65001 },
    outcomes: [['treat-as-withdraw', 'as-path-first-as-mismatch', 11]],
  },
  {
    what: 'AS_PATH starting with the peer AS',
    attrs: BASE_ATTRS,
    ctx: { ...EBGP, peerAs: 65001 },
    outcomes: [],
  },
  {
    what: 'NEXT_HOP length 5',
    attrs: `${ORIGIN} ${AS_PATH} 40 03 05 c000020100`,
    outcomes: [['treat-as-withdraw', 'next-hop-bad-length', 5]],
  },
  {
    what: 'NEXT_HOP multicast',
    attrs: `${ORIGIN} ${AS_PATH} 40 03 04 e0000001`,
    outcomes: [['treat-as-withdraw', 'next-hop-invalid', 8]],
  },
  {
    what: 'MED length 3',
    attrs: `${BASE_ATTRS} 80 04 03 000064`,
    outcomes: [['treat-as-withdraw', 'med-bad-length', 5]],
  },
  {
    what: 'LOCAL_PREF from an eBGP peer is discarded',
    attrs: `${BASE_ATTRS} 40 05 04 00000064`,
    outcomes: [['attribute-discard', 'local-pref-from-ebgp', 5]],
  },
  {
    what: 'LOCAL_PREF length 3 from an iBGP peer',
    attrs: `${BASE_ATTRS} 40 05 03 000064`,
    ctx: IBGP,
    outcomes: [['treat-as-withdraw', 'local-pref-bad-length', 5]],
  },
  {
    what: 'ATOMIC_AGGREGATE length 1',
    attrs: `${BASE_ATTRS} 40 06 01 00`,
    outcomes: [['attribute-discard', 'atomic-aggregate-bad-length', 5]],
  },
  {
    what: 'AGGREGATOR length 6 on a 4-octet session',
    attrs: `${BASE_ATTRS} c0 07 06 fde9 c0000201`,
    outcomes: [['attribute-discard', 'aggregator-bad-length', 5]],
  },
  {
    what: 'COMMUNITIES length 6',
    attrs: `${BASE_ATTRS} c0 08 06 ffff0000 0001`,
    outcomes: [['treat-as-withdraw', 'communities-bad-length', 9]],
  },
  {
    what: 'COMMUNITIES length 0',
    attrs: `${BASE_ATTRS} c0 08 00`,
    outcomes: [['treat-as-withdraw', 'communities-bad-length', 9]],
  },
  {
    what: 'LARGE_COMMUNITIES length 13',
    attrs: `${BASE_ATTRS} c0 20 0d 0000fde9 00000001 00000002 00`,
    outcomes: [['treat-as-withdraw', 'large-communities-bad-length', 9]],
  },
  {
    what: 'ORIGIN with the Optional bit set (flags conflict)',
    attrs: `c0 01 01 00 ${AS_PATH} ${NEXT_HOP}`,
    outcomes: [['treat-as-withdraw', 'origin-bad-flags', 4]],
  },
  {
    what: 'COMMUNITIES marked well-known (flags conflict)',
    attrs: `${BASE_ATTRS} 40 08 04 ffff0000`,
    outcomes: [['treat-as-withdraw', 'communities-bad-flags', 4]],
  },
  {
    what: 'repeated MED: the first is kept, the second discarded',
    attrs: `${BASE_ATTRS} 80 04 04 00000001 80 04 04 00000002`,
    outcomes: [['attribute-discard', 'duplicate-attribute', 1]],
  },
  {
    what: 'missing ORIGIN with NLRI',
    attrs: `${AS_PATH} ${NEXT_HOP}`,
    outcomes: [['treat-as-withdraw', 'missing-origin', 3]],
  },
  {
    what: 'missing NEXT_HOP with IPv4 NLRI',
    attrs: `${ORIGIN} ${AS_PATH}`,
    outcomes: [['treat-as-withdraw', 'missing-next-hop', 3]],
  },
  {
    what: 'no NEXT_HOP needed for MP NLRI only',
    attrs: `${MP_REACH_V6} ${ORIGIN} ${AS_PATH}`,
    nlri: '',
    outcomes: [],
  },
  { what: 'no attributes needed without NLRI', attrs: '80 04 04 00000001', nlri: '', outcomes: [] },
  {
    what: 'last attribute overruns the attribute field',
    attrs: `${BASE_ATTRS} 80 04 08 00000001`,
    outcomes: [['treat-as-withdraw', 'attribute-length-overrun', 5]],
  },
  {
    what: 'two octets left: too few for an attribute header',
    attrs: `${BASE_ATTRS} 80 04`,
    outcomes: [['treat-as-withdraw', 'attribute-header-underrun', 5]],
  },
  {
    what: 'AS4_PATH from a 4-octet speaker is discarded',
    attrs: `${BASE_ATTRS} c0 11 06 02 01 0000fde9`,
    outcomes: [['attribute-discard', 'as4-path-from-4-octet-speaker', 11]],
  },
  {
    what: 'malformed AS4_PATH from a 2-octet speaker is discarded',
    attrs: `${ORIGIN} 40 02 04 02 01 fde9 ${NEXT_HOP} c0 11 03 02 01 00`,
    ctx: OLD,
    outcomes: [['attribute-discard', 'as-path-segment-overrun', 11]],
  },
  {
    what: 'discard and withdraw together: the strongest decides',
    attrs: `${BASE_ATTRS} 40 06 01 00 80 04 03 000064`,
    outcomes: [
      ['attribute-discard', 'atomic-aggregate-bad-length', 5],
      ['treat-as-withdraw', 'med-bad-length', 5],
    ],
  },
  {
    what: 'unknown optional non-transitive attribute dropped silently',
    attrs: `${BASE_ATTRS} 80 63 02 abcd`,
    outcomes: [],
  },
  // session resets
  {
    what: 'unknown well-known attribute',
    attrs: `${BASE_ATTRS} 40 63 00`,
    reset: [3, 2, 'unrecognized-well-known-attribute'],
  },
  {
    what: 'MP_REACH_NLRI with a 5-octet IPv6 next hop',
    attrs: `80 0e 0a 0002 01 05 2001db8000 00 00 ${ORIGIN} ${AS_PATH}`,
    nlri: '',
    reset: [3, 9, 'mp-reach-bad-next-hop-length'],
  },
  {
    what: 'MP_REACH_NLRI with a /129',
    attrs: `80 0e 17 0002 01 10 20010db8000000000000000000000001 00 81 20 ${ORIGIN} ${AS_PATH}`,
    nlri: '',
    reset: [3, 10, 'mp-reach-prefix-length-too-long'],
  },
  {
    what: 'MP_UNREACH_NLRI of 2 octets',
    attrs: '80 0f 02 0002',
    nlri: '',
    reset: [3, 9, 'mp-unreach-truncated'],
  },
  {
    what: 'MP_REACH_NLRI twice',
    attrs: `${MP_REACH_V6} ${MP_REACH_V6} ${ORIGIN} ${AS_PATH}`,
    nlri: '',
    reset: [3, 1, 'duplicate-mp-reach-nlri'],
  },
  {
    what: 'MP_UNREACH_NLRI overruns the attribute field',
    attrs: '80 0f 09 0002 01 40',
    nlri: '',
    reset: [3, 5, 'mp-attribute-length-overrun'],
  },
  {
    what: 'NLRI /33',
    attrs: BASE_ATTRS,
    nlri: '21 cb00710700',
    reset: [3, 10, 'nlri-prefix-length-too-long'],
  },
  { what: 'NLRI truncated', attrs: BASE_ATTRS, nlri: '20 cb0071', reset: [3, 10, 'nlri-prefix-truncated'] },
  {
    what: 'withdrawn /40',
    attrs: '',
    withdrawn: '28 cb00710700',
    nlri: '',
    reset: [3, 10, 'withdrawn-prefix-length-too-long'],
  },
];

for (const row of ROWS) {
  test(`RFC 7606: ${row.what}`, () => {
    const msg = rawUpdate({ withdrawn: row.withdrawn, attrs: row.attrs, nlri: row.nlri ?? NLRI_V4 });
    const ctx = row.ctx ?? EBGP;
    if (row.reset) {
      const [code, subcode, reason] = row.reset;
      assert.throws(
        () => decodeUpdate(msg, ctx),
        (e: unknown) =>
          e instanceof BgpCodecError &&
          e.action === 'session-reset' &&
          e.notifyCode === code &&
          e.notifySubcode === subcode &&
          e.reason === reason,
      );
      return;
    }
    const u = decodeUpdate(msg, ctx);
    assert.deepEqual(
      u.outcomes.map((o) => [o.action, o.reason, o.subcode]),
      row.outcomes,
    );
    assert.equal(
      u.treatAsWithdraw,
      row.outcomes!.some(([a]) => a === 'treat-as-withdraw'),
    );
  });
}

test('RFC 7606: total attribute length beyond the message is a session reset', () => {
  const msg = rawUpdate({ attrs: BASE_ATTRS, nlri: '' });
  msg.writeUInt16BE(0x40, 21); // attribute length field
  assert.throws(
    () => decodeUpdate(msg, EBGP),
    (e: BgpCodecError) => e.notifySubcode === 1 && e.action === 'session-reset',
  );
});

test('RFC 7606: treat-as-withdraw turns the announced NLRI (classic and MP) into withdrawals', () => {
  const u = decodeUpdate(
    rawUpdate({ attrs: `${MP_REACH_V6} 40 01 01 07 ${AS_PATH} ${NEXT_HOP}`, nlri: NLRI_V4 }),
    EBGP,
  );
  assert.equal(u.treatAsWithdraw, true);
  assert.deepEqual(updateRoutes(u), {
    announced: [],
    withdrawn: [
      { afi: 1, addr: '203.0.113.7', len: 32 },
      { afi: 2, addr: '2001:db8::7', len: 128 },
    ],
  });
  const ok = decodeUpdate(rawUpdate({ attrs: BASE_ATTRS, nlri: NLRI_V4 }), EBGP);
  assert.deepEqual(updateRoutes(ok), {
    announced: [{ afi: 1, addr: '203.0.113.7', len: 32 }],
    withdrawn: [],
  });
});

test('RFC 7606: the repeated attribute keeps its first value; unknown transitive gets Partial', () => {
  const u = decodeUpdate(
    rawUpdate({ attrs: `${BASE_ATTRS} 80 04 04 00000001 80 04 04 00000002 c0 63 02 abcd`, nlri: NLRI_V4 }),
    EBGP,
  );
  assert.equal(u.attributes.med, 1);
  assert.deepEqual(u.attributes.unknown, [{ code: 0x63, flags: 0xe0, value: Buffer.from('abcd', 'hex') }]);
});
