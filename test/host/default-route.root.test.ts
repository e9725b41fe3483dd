// The default-route writer against the kernel in a namespace of its own: one multipath route per
// family with anycastd's protocol number and metric, replaced as a whole when the next hops change,
// deleted when none are left and on clear(); an unchanged set makes no netlink call; an IPv4 default
// via an IPv6 link-local next hop (RTA_VIA, RFC 8950); another daemon's default route is left alone;
// one next hop the kernel refuses (off-link, interface gone) never blocks the others nor leaves a
// previous next hop behind, and is tried again until it goes in.
// `ip -j -N route` is the oracle.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { addVethPair, createNetns, type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { DefaultRouteWriter } from '../../src/host/default-route.js';
import { Rtnetlink } from '../../src/native/rtnl.js';
import type { Route } from '../../src/netlink/route.js';
import { waitFor } from '../helpers/wait-for.js';

const prefix = uniquePrefix('host-dr');
const PROTO = 211;
const METRIC = 30;
let ns: Netns;
let rt: Rtnetlink;
let a0: number;

interface IpRoute {
  protocol: string;
  metric?: number;
  gateway?: string;
  via?: { family: string; host: string };
  nexthops?: { gateway?: string; via?: { host: string }; dev?: string }[];
}

function defaults(family: 4 | 6): IpRoute[] {
  return JSON.parse(ns.ip(['-j', '-N', `-${family}`, 'route', 'show', 'default'])) as IpRoute[];
}

function hopsOf(r: IpRoute | undefined): string[] {
  if (!r) return [];
  if (r.nexthops) return r.nexthops.map((n) => n.gateway ?? n.via?.host ?? '').sort();
  return [r.gateway ?? r.via?.host ?? ''];
}

before(() => {
  removeNetnsByPrefix(prefix);
  ns = createNetns(prefix);
  addVethPair(ns, 'a0', 'a1');
  addVethPair(ns, 'b0', 'b1');
  ns.ip(['addr', 'add', '192.0.2.0/31', 'dev', 'a0']);
  ns.ip(['addr', 'add', '192.0.2.2/31', 'dev', 'b0']);
  ns.ip(['addr', 'add', '2001:db8:1::/127', 'dev', 'a0', 'nodad']);
  ns.ip(['addr', 'add', '2001:db8:2::/127', 'dev', 'b0', 'nodad']);
  rt = Rtnetlink.open({ netns: ns.name });
  a0 = rt.link('a0').ifindex;
});

after(() => {
  rt?.close();
  removeNetnsByPrefix(prefix);
});

test('IPv4: two next hops, one, none; protocol and metric as configured', () => {
  const w = new DefaultRouteWriter(rt, { protocol: PROTO, metric: METRIC });
  w.update(4, [{ gateway: '192.0.2.3' }, { gateway: '192.0.2.1' }]);
  let r = defaults(4);
  assert.equal(r.length, 1);
  assert.equal(r[0]!.protocol, String(PROTO));
  assert.equal(r[0]!.metric, METRIC);
  assert.deepEqual(hopsOf(r[0]), ['192.0.2.1', '192.0.2.3']);
  w.update(4, [{ gateway: '192.0.2.1' }]);
  r = defaults(4);
  assert.equal(r.length, 1);
  assert.deepEqual(hopsOf(r[0]), ['192.0.2.1']);
  w.update(4, [{ gateway: '192.0.2.1' }, { gateway: '192.0.2.3' }]);
  assert.deepEqual(hopsOf(defaults(4)[0]), ['192.0.2.1', '192.0.2.3']);
  w.update(4, []);
  assert.deepEqual(defaults(4), []);
});

test('IPv6: multipath replaced as a whole and removed', () => {
  const w = new DefaultRouteWriter(rt, { protocol: PROTO, metric: METRIC });
  w.update(6, [{ gateway: '2001:db8:1::1' }, { gateway: '2001:db8:2::1' }]);
  let r = defaults(6);
  assert.equal(r.length, 1);
  assert.deepEqual(hopsOf(r[0]), ['2001:db8:1::1', '2001:db8:2::1']);
  w.update(6, [{ gateway: '2001:db8:2::1' }]);
  r = defaults(6);
  assert.equal(r.length, 1);
  assert.deepEqual(hopsOf(r[0]), ['2001:db8:2::1']);
  w.update(6, [{ gateway: '2001:db8:1::1' }, { gateway: '2001:db8:2::1' }]);
  w.clear();
  assert.deepEqual(defaults(6), []);
});

test('an unchanged next-hop set makes no netlink call; duplicates collapse', () => {
  let calls = 0;
  const counting = new Proxy(rt, {
    get(target, name, recv) {
      const v = Reflect.get(target, name, recv);
      if (name === 'replaceRoute' || name === 'deleteRoute') {
        return (r: Route) => {
          calls++;
          return (v as (r: Route) => void).call(target, r);
        };
      }
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const w = new DefaultRouteWriter(counting, { protocol: PROTO, metric: METRIC });
  w.update(4, [{ gateway: '192.0.2.1' }, { gateway: '192.0.2.3' }]);
  w.update(4, [{ gateway: '192.0.2.3' }, { gateway: '192.0.2.1' }, { gateway: '192.0.2.1' }]);
  assert.equal(calls, 1);
  assert.deepEqual(hopsOf(defaults(4)[0]), ['192.0.2.1', '192.0.2.3']);
  w.clear();
  assert.equal(calls, 3);
  w.clear(); // already gone: no error
});

test('IPv4 default via an IPv6 link-local next hop (RTA_VIA) for unnumbered peering', () => {
  const w = new DefaultRouteWriter(rt, { protocol: PROTO, metric: METRIC });
  w.update(4, [{ gateway: 'fe80::1', ifindex: a0 }]);
  const [r] = defaults(4);
  assert.deepEqual(r?.via, { family: 'inet6', host: 'fe80::1' });
  w.update(4, [{ gateway: 'fe80::1', ifindex: a0 }, { gateway: '192.0.2.3' }]);
  assert.deepEqual(hopsOf(defaults(4)[0]), ['192.0.2.3', 'fe80::1']);
  w.clear();
  assert.deepEqual(defaults(4), []);
});

test("another daemon's default route (other protocol, other metric) is left alone", () => {
  ns.ip(['route', 'add', 'default', 'via', '192.0.2.1', 'metric', '500', 'proto', 'static']);
  const w = new DefaultRouteWriter(rt, { protocol: PROTO, metric: METRIC });
  w.update(4, [{ gateway: '192.0.2.3' }]);
  assert.equal(defaults(4).length, 2);
  w.clear();
  const left = defaults(4);
  assert.equal(left.length, 1);
  assert.equal(left[0]!.metric, 500);
  assert.equal(left[0]!.protocol, '4');
  ns.ip(['route', 'del', 'default', 'via', '192.0.2.1', 'metric', '500', 'proto', 'static']);
});

test('preferred source: the host address when it is local; without it (and retried) when not', async () => {
  const rejected: string[] = [];
  const w = new DefaultRouteWriter(rt, {
    protocol: PROTO,
    metric: METRIC,
    prefsrc: { 4: '198.51.100.11' },
    onPrefsrcRejected: (_f, src) => rejected.push(src),
  });
  const prefsrcOf = () =>
    (
      JSON.parse(ns.ip(['-j', '-N', '-4', 'route', 'show', 'default', 'proto', String(PROTO)])) as {
        prefsrc?: string;
      }[]
    )[0]?.prefsrc;
  w.update(4, [{ gateway: '192.0.2.1' }]);
  assert.deepEqual(rejected, ['198.51.100.11']);
  assert.equal(prefsrcOf(), undefined);
  assert.deepEqual(hopsOf(defaults(4)[0]), ['192.0.2.1']);
  ns.ip(['addr', 'add', '198.51.100.11/32', 'dev', 'lo']);
  w.update(4, [{ gateway: '192.0.2.1' }]); // same next hops: tried again, now with the source
  assert.equal(prefsrcOf(), '198.51.100.11');
  assert.equal(rejected.length, 1);
  w.update(4, [{ gateway: '192.0.2.1' }, { gateway: '192.0.2.3' }]);
  assert.equal(prefsrcOf(), '198.51.100.11');
  w.clear();
  assert.deepEqual(defaults(4), []);
  ns.ip(['addr', 'del', '198.51.100.11/32', 'dev', 'lo']);
  // Retried by a timer too: the address arrives later, no BGP change needed.
  const w2 = new DefaultRouteWriter(rt, {
    protocol: PROTO,
    metric: METRIC,
    prefsrc: { 4: '198.51.100.11' },
    prefsrcRetryMs: 50,
  });
  w2.update(4, [{ gateway: '192.0.2.1' }]);
  assert.equal(prefsrcOf(), undefined);
  ns.ip(['addr', 'add', '198.51.100.11/32', 'dev', 'lo']);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(prefsrcOf(), '198.51.100.11');
  w2.clear();
});

test('one refused next hop never blocks the others; a refused update leaves no stale next hop', async () => {
  const refusals: string[] = [];
  const w = new DefaultRouteWriter(rt, {
    protocol: PROTO,
    metric: METRIC,
    prefsrcRetryMs: 50,
    onNexthopsRejected: (f, refused) =>
      refusals.push(`${f}: ${refused.map((r) => `${r.nexthop.gateway} ${r.error}`).join(', ')}`),
  });
  const OFF_LINK4 = '203.0.113.99';
  const OFF_LINK6 = '2001:db8:99::1';
  // the kernel's answer to an off-link gateway: IPv4 ENETUNREACH, IPv6 EHOSTUNREACH
  for (const [f, good, offLink, errno] of [
    [4, ['192.0.2.1', '192.0.2.3'], OFF_LINK4, 'ENETUNREACH'],
    [6, ['2001:db8:1::1', '2001:db8:2::1'], OFF_LINK6, 'EHOSTUNREACH'],
  ] as const) {
    w.update(
      f,
      good.map((gateway) => ({ gateway })),
    );
    assert.deepEqual(hopsOf(defaults(f)[0]), [...good]);
    // a peer's off-link next hop arrives: the other two stay, the refusal is reported with the errno
    w.update(
      f,
      [...good, offLink].map((gateway) => ({ gateway })),
    );
    assert.deepEqual(hopsOf(defaults(f)[0]), [...good], `IPv${f}: the good next hops stay`);
    assert.match(refusals.at(-1) ?? '', new RegExp(`^${f}: ${offLink} ${errno}$`));
    // the second peer goes away while the off-link one is still there: its next hop leaves the kernel
    w.update(
      f,
      [good[0], offLink].map((gateway) => ({ gateway })),
    );
    assert.deepEqual(hopsOf(defaults(f)[0]), [good[0]], `IPv${f}: the vanished peer's next hop is gone`);
    // only the off-link one left: no default of ours at all (not the previous next hop)
    w.update(f, [{ gateway: offLink }]);
    assert.deepEqual(defaults(f), [], `IPv${f}: nothing of ours is left`);
  }
  // a next hop on an interface that vanished (ifindex gone) next to a good one
  w.update(6, [{ gateway: '2001:db8:1::1' }, { gateway: 'fe80::1', ifindex: 999_999 }]);
  assert.deepEqual(hopsOf(defaults(6)[0]), ['2001:db8:1::1']);
  assert.match(refusals.at(-1) ?? '', /^6: fe80::1 ENODEV$/);
  w.update(6, []);
  // a refused next hop is tried again and goes in once the kernel can reach it, with no BGP change
  w.update(4, [{ gateway: '192.0.2.1' }, { gateway: OFF_LINK4 }]);
  assert.deepEqual(hopsOf(defaults(4)[0]), ['192.0.2.1']);
  ns.ip(['addr', 'add', '203.0.113.98/31', 'dev', 'b0']);
  try {
    await waitFor(() => hopsOf(defaults(4)[0]).length === 2, { what: 'the retried next hop in the kernel' });
    assert.deepEqual(hopsOf(defaults(4)[0]), ['192.0.2.1', OFF_LINK4]);
  } finally {
    w.clear();
    ns.ip(['addr', 'del', '203.0.113.98/31', 'dev', 'b0']);
  }
  assert.deepEqual(defaults(4), []);
});
