// OPEN, KEEPALIVE, NOTIFICATION, ROUTE-REFRESH and capabilities against hand-written byte vectors
// (RFC 4271 §4, RFC 5492, RFC 4760, RFC 6793, RFC 4724, RFC 8950, RFC 2918, RFC 7313, RFC 9003).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findCapability } from '../../../src/bgp/codec/capabilities.js';
import { BgpCodecError } from '../../../src/bgp/codec/errors.js';
import { encodeKeepalive } from '../../../src/bgp/codec/keepalive.js';
import { decodeMessage } from '../../../src/bgp/codec/message.js';
import { encodeNotification, shutdownData, shutdownMessage } from '../../../src/bgp/codec/notification.js';
import { decodeOpen, encodeOpen, myAsField } from '../../../src/bgp/codec/open.js';
import { encodeRouteRefresh } from '../../../src/bgp/codec/route-refresh.js';
import { hex, MARKER } from './vectors.js';

const CTX = { as4: true, ebgp: true };

const OPEN_VECTOR = hex(`
  ${MARKER} 0043 01          # header: length 67, type OPEN
  04 fde9 005a c0000201      # version 4, My AS 65001, hold 90, id 192.0.2.1
  26 02 24                   # opt params length 38; param type 2 (capabilities), length 36
  01 04 0001 00 01           # MP: IPv4 unicast
  01 04 0002 00 01           # MP: IPv6 unicast
  02 00                      # route refresh
  41 04 0000fde9             # 4-octet AS 65001
  40 06 0078 0001 01 80      # graceful restart: no flags, 120 s; IPv4 unicast, forwarding preserved
  05 06 0001 0001 0002       # extended next hop: IPv4 unicast over IPv6
`);

const OPEN_FIELDS = {
  myAs: 65001,
  holdTime: 90,
  bgpId: '192.0.2.1',
  capabilities: [
    { kind: 'multiprotocol' as const, afi: 1, safi: 1 },
    { kind: 'multiprotocol' as const, afi: 2, safi: 1 },
    { kind: 'route-refresh' as const },
    { kind: 'four-octet-as' as const, asn: 65001 },
    {
      kind: 'graceful-restart' as const,
      restarting: false,
      notification: false,
      time: 120,
      families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
    },
    { kind: 'extended-next-hop' as const, entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
  ],
};

test('OPEN decodes from and encodes to the vector', () => {
  assert.deepEqual(decodeOpen(OPEN_VECTOR), { version: 4, ...OPEN_FIELDS });
  assert.deepEqual(encodeOpen(OPEN_FIELDS), OPEN_VECTOR);
});

test('OPEN: graceful restart R and N bits, unknown capability kept', () => {
  const msg = hex(`${MARKER} 0028 01 04 fde9 005a c0000201 0b 02 09
    40 03 c078 00        # GR: R and N set, 120 s (truncated family: 1 octet too few)
  `);
  assert.throws(
    () => decodeOpen(msg),
    (e: BgpCodecError) => e.notifyCode === 2 && e.notifySubcode === 0,
  );
  const ok = hex(`${MARKER} 002b 01 04 fde9 005a c0000201 0e 02 0c
    40 02 c078           # GR: R and N set, 120 s, no families
    49 06 03 682d31 00 00  # FQDN capability (73), unknown here
  `);
  const open = decodeOpen(ok);
  assert.deepEqual(findCapability(open.capabilities, 'graceful-restart'), {
    kind: 'graceful-restart',
    restarting: true,
    notification: true,
    time: 120,
    families: [],
  });
  assert.deepEqual(open.capabilities[1], { kind: 'unknown', code: 73, value: hex('03 682d31 00 00') });
  assert.deepEqual(encodeOpen(open), ok);
});

test('OPEN: 4-octet AS uses AS_TRANS in My AS', () => {
  assert.equal(myAsField(4200000000), 23456);
  assert.equal(myAsField(65001), 65001);
  const msg = encodeOpen({
    myAs: myAsField(4200000000),
    holdTime: 0,
    bgpId: '198.51.100.1',
    capabilities: [],
  });
  assert.deepEqual(msg, hex(`${MARKER} 001d 01 04 5ba0 0000 c6336401 00`));
});

test('OPEN errors: unsupported optional parameter, parameter length mismatch', () => {
  const auth = hex(`${MARKER} 0020 01 04 fde9 005a c0000201 03 01 01 00`);
  assert.throws(
    () => decodeMessage(auth, CTX),
    (e: BgpCodecError) => e.notifyCode === 2 && e.notifySubcode === 4 && e.data.equals(Buffer.from([1])),
  );
  const mismatch = hex(`${MARKER} 0020 01 04 fde9 005a c0000201 05 02 01 00`);
  assert.throws(
    () => decodeMessage(mismatch, CTX),
    (e: BgpCodecError) => e.reason === 'open-parameters-length-mismatch',
  );
});

test('KEEPALIVE is a bare 19-octet header', () => {
  assert.deepEqual(encodeKeepalive(), hex(`${MARKER} 0013 04`));
  assert.deepEqual(decodeMessage(hex(`${MARKER} 0013 04`), CTX), { type: 'keepalive' });
  assert.throws(
    () => decodeMessage(hex(`${MARKER} 0014 04 00`), CTX),
    (e: BgpCodecError) => e.notifyCode === 1 && e.notifySubcode === 2 && e.data.equals(hex('0014')),
  );
});

test('NOTIFICATION: hold timer expired; Cease with a shutdown communication', () => {
  assert.deepEqual(encodeNotification({ code: 4, subcode: 0 }), hex(`${MARKER} 0015 03 04 00`));
  const cease = hex(`${MARKER} 0019 03 06 02 03 627965`); // Cease / Administrative Shutdown, "bye"
  assert.deepEqual(encodeNotification({ code: 6, subcode: 2, data: shutdownData('bye') }), cease);
  const m = decodeMessage(cease, CTX);
  assert.equal(m.type, 'notification');
  if (m.type !== 'notification') return;
  assert.deepEqual([m.code, m.subcode], [6, 2]);
  assert.equal(shutdownMessage(m), 'bye');
  assert.equal(shutdownData('é'.repeat(200)).length, 255); // truncated to 254 octets of whole characters
});

test('ROUTE-REFRESH: plain and enhanced subtypes, bad length', () => {
  assert.deepEqual(encodeRouteRefresh({ afi: 1, safi: 1 }), hex(`${MARKER} 0017 05 0001 00 01`));
  assert.deepEqual(decodeMessage(hex(`${MARKER} 0017 05 0002 02 01`), CTX), {
    type: 'route-refresh',
    afi: 2,
    safi: 1,
    subtype: 2,
  });
  assert.throws(
    () => decodeMessage(hex(`${MARKER} 0018 05 0002 00 01 00`), CTX),
    (e: BgpCodecError) => e.notifyCode === 7 && e.notifySubcode === 1,
  );
});

test('header errors: marker, length, type', () => {
  const cases: [string, string, number, number][] = [
    ['bad marker', `${MARKER.replace(/f$/, 'e')} 0013 04`, 1, 1],
    ['length below 19', `${MARKER} 0012 04`, 1, 2],
    ['length above 4096', `${MARKER} 1001 04`, 1, 2],
    ['unknown type', `${MARKER} 0013 06`, 1, 3],
    ['OPEN below 29', `${MARKER} 0014 01 04`, 1, 2],
    ['NOTIFICATION below 21', `${MARKER} 0014 03 06`, 1, 2],
    ['UPDATE below 23', `${MARKER} 0015 02 0000`, 1, 2],
  ];
  for (const [what, vector, code, subcode] of cases) {
    const msg = hex(vector);
    assert.throws(
      () => decodeMessage(msg, CTX),
      (e: unknown) => e instanceof BgpCodecError && e.notifyCode === code && e.notifySubcode === subcode,
      what,
    );
  }
});
