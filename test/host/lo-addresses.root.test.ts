// VIPs on lo through rtnetlink, in a namespace of our own: added and removed as `ip -j addr show dev lo`
// sees them, idempotently (a second add or remove changes nothing and is no error), both families; many
// at once in netlink batches, with the addresses the kernel refuses named and the others added.
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

test('addAll puts many on lo in batches: those already there are left and not reported', async () => {
  const v6 = Array.from({ length: 700 }, (_, i) => `2001:db8:1::${(i + 1).toString(16)}`);
  const v4 = Array.from({ length: 200 }, (_, i) => `198.51.100.${i + 1}`);
  assert.deepEqual(lo.addMany([v6[0]!, v4[0]!]), [v6[0]!, v4[0]!]);
  const all = [...v6, ...v4];
  const added = await lo.addAll(all);
  assert.deepEqual(
    added,
    all.filter((a) => a !== v6[0] && a !== v4[0]),
  );
  const shown = new Set(ipShow());
  assert.ok(
    all.every((a) => shown.has(`${a}/${a.includes(':') ? 128 : 32}`)),
    'every address on lo',
  );
  assert.deepEqual(await lo.addAll(all), [], 'a second time: all there, none added');
  for (const a of all) lo.remove(a);
});

test('addAll and addMany: the addresses the kernel refuses are named, the others added', async () => {
  const good = ['2001:db8:2::1', '2001:db8:2::2'];
  const refused = ['ff02::5', '::'];
  for (const call of [(a: string[]) => lo.addAll(a), async (a: string[]) => lo.addMany(a)]) {
    await assert.rejects(
      call([good[0]!, refused[0]!, good[1]!, refused[1]!]),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'EADDRNOTAVAIL');
        assert.match(
          err.message,
          /^2 addresses not added to lo: ff02::5 \(EADDRNOTAVAIL\), :: \(EADDRNOTAVAIL\); first: add address ff02::5\/128/,
        );
        assert.match(err.message, /multicast/, "the kernel's own words");
        return true;
      },
    );
    const shown = new Set(ipShow());
    assert.ok(
      good.every((a) => shown.has(`${a}/128`)),
      'the others were added',
    );
    for (const a of good) lo.remove(a);
  }
  // one refused address: its own error
  assert.throws(
    () => lo.addMany(['ff02::6']),
    (err: Error & { code?: string; attempt?: string }) =>
      err.code === 'EADDRNOTAVAIL' && err.attempt === 'add address ff02::6/128 to ifindex 1',
  );
});

test('an invalid address throws, nothing is swallowed', () => {
  assert.throws(() => lo.add('not-an-address'));
});
