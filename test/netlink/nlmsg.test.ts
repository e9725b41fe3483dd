// Netlink codec without the kernel: attribute framing and alignment, nested attributes, and routes
// encoded then decoded (plain, multipath with weights, RTA_VIA, blackhole, a table above 255).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attr, attrList, attrNested, attrString, message, parseAttrs } from '../../src/netlink/nlmsg.js';
import { decodeRoute, encodeRoute, type Route, RTM_NEWROUTE } from '../../src/netlink/route.js';

test('attributes are 4-byte aligned, lengths exclude padding, nested ones parse', () => {
  const a = attrString(3, 'lo');
  assert.equal(a.length, 8); // 4 header + 'lo\0' + 1 pad
  assert.equal(a.readUInt16LE(0), 7);
  const nested = attrNested(18, [attrString(1, 'veth'), attr(2, Buffer.from([1, 2, 3, 4, 5]))]);
  assert.equal(nested.readUInt16LE(2) & 0x8000, 0x8000);
  const [[type, value] = [0, Buffer.alloc(0)]] = attrList(nested);
  assert.equal(type, 18);
  const inner = parseAttrs(value);
  assert.equal(inner.get(1)?.toString(), 'veth\0');
  assert.deepEqual(inner.get(2), Buffer.from([1, 2, 3, 4, 5]));
  const msg = message(RTM_NEWROUTE, 0, 7, Buffer.alloc(12), [a]);
  assert.equal(msg.readUInt32LE(0), msg.length);
  assert.equal(msg.readUInt32LE(8), 7);
  assert.equal(msg.readUInt16LE(6) & 1, 1); // NLM_F_REQUEST
});

const ROUTES: Route[] = [
  { dst: '192.0.2.0/24', protocol: 186, metric: 10, nexthops: [{ gateway: '198.51.100.1', ifindex: 3 }] },
  {
    dst: '0.0.0.0/0',
    protocol: 186,
    metric: 20,
    nexthops: [
      { gateway: '192.0.2.1', ifindex: 2, weight: 1 },
      { gateway: '192.0.2.2', ifindex: 3, weight: 256 },
    ],
  },
  {
    dst: '::/0',
    table: 1000,
    protocol: 186,
    metric: 0,
    nexthops: [
      { gateway: '2001:db8::1', ifindex: 2, weight: 1 },
      { gateway: 'fe80::1', ifindex: 4, weight: 2 },
    ],
  },
  {
    dst: '203.0.113.0/24',
    protocol: 3,
    metric: 0,
    nexthops: [{ gateway: 'fe80::2', ifindex: 5, onlink: true }],
  },
  { dst: '198.51.100.0/24', type: 'blackhole', protocol: 3, metric: 0, nexthops: [] },
];

test('routes survive encode -> decode', () => {
  for (const route of ROUTES) {
    const { fixed, attrs } = encodeRoute(route);
    const decoded = decodeRoute(message(RTM_NEWROUTE, 0, 1, fixed, attrs));
    assert.ok(decoded);
    assert.equal(decoded.dst, route.dst);
    assert.equal(decoded.table, route.table ?? 254);
    assert.equal(decoded.protocol, route.protocol);
    assert.equal(decoded.metric, route.metric);
    assert.equal(decoded.type, route.type ?? 'unicast');
    assert.deepEqual(decoded.nexthops, route.nexthops, route.dst);
  }
});

test('invalid routes are refused before the kernel sees them', () => {
  assert.throws(() => encodeRoute({ dst: '::/0', nexthops: [{ gateway: '192.0.2.1' }] }), {
    code: 'ERR_INVALID_ARGUMENT',
  });
  const twoHops = (weight: number): Route => ({
    dst: '0.0.0.0/0',
    nexthops: [{ gateway: '192.0.2.1', weight }, { gateway: '192.0.2.2' }],
  });
  assert.throws(() => encodeRoute(twoHops(0)), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => encodeRoute(twoHops(257)), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => encodeRoute({ dst: '10.0.0.0/33', nexthops: [] }), { code: 'ERR_INVALID_ARGUMENT' });
});
