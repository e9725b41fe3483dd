// VIPs on lo through rtnetlink, in a namespace of our own: added and removed as `ip -j addr show dev lo`
// sees them, idempotently (a second add or remove changes nothing and is no error), both families.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createNetns, type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { LoAddresses } from '../../src/host/lo-addresses.js';

const PREFIX = uniquePrefix('host');
const VIP4 = '192.0.2.10';
const VIP6 = '2001:db8::10';
let ns: Netns;
let lo: LoAddresses;

before(() => {
  removeNetnsByPrefix(PREFIX);
  ns = createNetns(PREFIX);
  lo = new LoAddresses({ netns: ns.name });
});
after(() => {
  lo?.close();
  removeNetnsByPrefix(PREFIX);
});

/** Addresses on lo as iproute2 reports them: "addr/prefixlen". */
function ipShow(): string[] {
  const out = JSON.parse(ns.ip(['-j', 'addr', 'show', 'dev', 'lo'])) as {
    addr_info: { local: string; prefixlen: number }[];
  }[];
  return out.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).sort();
}

test('add puts host prefixes on lo, a second add is a no-op', () => {
  assert.equal(lo.add(VIP4), true);
  assert.equal(lo.add(VIP6), true);
  assert.deepEqual(ipShow(), ['127.0.0.1/8', `${VIP4}/32`, `${VIP6}/128`, '::1/128'].sort());
  assert.equal(lo.add(VIP4), false);
  assert.equal(lo.add(VIP6), false);
  assert.deepEqual(lo.list().sort(), ['127.0.0.1', VIP4, VIP6, '::1'].sort());
});

test('IPv6 VIP is usable at once (no tentative flag from DAD)', () => {
  const out = JSON.parse(ns.ip(['-j', '-6', 'addr', 'show', 'dev', 'lo'])) as {
    addr_info: { local: string; tentative?: boolean }[];
  }[];
  const vip = out.flatMap((l) => l.addr_info).find((a) => a.local === VIP6);
  assert.ok(vip);
  assert.notEqual(vip.tentative, true);
});

test('remove takes them off, removing an absent address is a no-op', () => {
  assert.equal(lo.remove(VIP4), true);
  assert.equal(lo.remove(VIP6), true);
  assert.deepEqual(ipShow(), ['127.0.0.1/8', '::1/128'].sort());
  assert.equal(lo.remove(VIP4), false);
  assert.equal(lo.remove(VIP6), false);
});

test('an invalid address throws, nothing is swallowed', () => {
  assert.throws(() => lo.add('not-an-address'));
});
