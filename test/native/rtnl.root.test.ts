// rtnetlink against the kernel, in a namespace this test creates and removes: links, the VIP on lo,
// neighbours, and routes — IPv4 and IPv6 multipath defaults with a protocol and metric, an IPv4
// route via an IPv6 link-local next hop (RTA_VIA) — each checked against `ip -j` as the oracle.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { addVethPair, createNetns, type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { SystemError } from '../../src/errors.js';
import { Rtnetlink } from '../../src/native/index.js';
import type { Route } from '../../src/netlink/route.js';
import { NUD_PERMANENT } from '../../src/netlink/rtnl-codec.js';

const prefix = uniquePrefix('native-rtnl');
/** A route protocol number of our own and a metric, as the agent would use. */
const PROTO = 186;
const METRIC = 100;
let ns: Netns;
let rt: Rtnetlink;
let a0: number;
let b0: number;

interface IpJsonNexthop {
  gateway?: string;
  dev?: string;
  weight?: number;
  via?: { family: string; host: string };
}
interface IpJsonRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol: string;
  metric?: number;
  via?: { family: string; host: string };
  nexthops?: IpJsonNexthop[];
}

/** `ip -j -N [-6] route show <dst>` inside the namespace (numeric protocol). */
function ipRoutes(family: 4 | 6, dst: string): IpJsonRoute[] {
  return JSON.parse(ns.ip(['-j', '-N', `-${family}`, 'route', 'show', dst])) as IpJsonRoute[];
}

before(() => {
  removeNetnsByPrefix(prefix);
  ns = createNetns(prefix);
  addVethPair(ns, 'a0', 'a1');
  addVethPair(ns, 'b0', 'b1');
  ns.ip(['addr', 'add', '192.0.2.1/24', 'dev', 'a0']);
  ns.ip(['addr', 'add', '198.51.100.1/24', 'dev', 'b0']);
  ns.ip(['addr', 'add', '2001:db8:1::1/64', 'dev', 'a0', 'nodad']);
  ns.ip(['addr', 'add', '2001:db8:2::1/64', 'dev', 'b0', 'nodad']);
  rt = Rtnetlink.open({ netns: ns.name });
  a0 = rt.link('a0').ifindex;
  b0 = rt.link('b0').ifindex;
});

after(() => {
  rt?.close();
  removeNetnsByPrefix(prefix);
});

test('links: by name and index, kind, mac, up/down', () => {
  const links = rt.links();
  const lo = links.find((l) => l.name === 'lo');
  assert.ok(lo?.loopback && lo.up);
  const a = rt.link(a0);
  assert.equal(a.name, 'a0');
  assert.equal(a.kind, 'veth');
  const ipLink = JSON.parse(ns.ip(['-j', 'link', 'show', 'a0'])) as { address: string; mtu: number }[];
  assert.equal(a.mac, ipLink[0]?.address);
  assert.equal(a.mtu, ipLink[0]?.mtu);
  // a1 carries no addresses: taking a link down drops its IPv6 addresses.
  const a1 = rt.link('a1').ifindex;
  rt.setLinkUp(a1, false);
  assert.equal(rt.link(a1).up, false);
  assert.equal(rt.link(a0).lowerUp, false);
  rt.setLinkUp(a1, true);
  assert.equal(rt.link(a1).up, true);
  assert.throws(
    () => rt.link('nosuchdev0'),
    (err: unknown) => err instanceof SystemError && err.code === 'ENODEV' && /nosuchdev0/.test(err.attempt),
  );
});

test('VIP on lo: add, EEXIST, replace, list, delete, EADDRNOTAVAIL', () => {
  const lo = rt.link('lo').ifindex;
  for (const address of ['203.0.113.10', '2001:db8:ffff::10']) {
    rt.addAddress({ ifindex: lo, address });
    assert.throws(() => rt.addAddress({ ifindex: lo, address }), { code: 'EEXIST' });
    rt.addAddress({ ifindex: lo, address }, { replace: true });
    const listed = rt.addresses({ ifindex: lo }).find((x) => x.address === address);
    assert.equal(listed?.prefixLength, address.includes(':') ? 128 : 32);
    assert.match(ns.ip(['addr', 'show', 'dev', 'lo']), new RegExp(` ${address.replaceAll('.', '\\.')}/`));
    rt.deleteAddress({ ifindex: lo, address });
    assert.ok(!ns.ip(['addr', 'show', 'dev', 'lo']).includes(` ${address}/`));
    assert.throws(() => rt.deleteAddress({ ifindex: lo, address }), { code: 'EADDRNOTAVAIL' });
  }
});

test('IPv4 multipath default: replace, shrink to one nexthop, delete', () => {
  const route: Route = {
    dst: '0.0.0.0/0',
    protocol: PROTO,
    metric: METRIC,
    nexthops: [
      { gateway: '192.0.2.2', ifindex: a0 },
      { gateway: '198.51.100.2', ifindex: b0, weight: 3 },
    ],
  };
  rt.replaceRoute(route);
  const [ip] = ipRoutes(4, 'default');
  assert.equal(ip?.protocol, String(PROTO));
  assert.equal(ip?.metric, METRIC);
  assert.deepEqual(
    ip?.nexthops?.map((n) => [n.gateway, n.dev, n.weight]),
    [
      ['192.0.2.2', 'a0', 1],
      ['198.51.100.2', 'b0', 3],
    ],
  );
  const [decoded] = rt.routes({ family: 4, protocol: PROTO });
  assert.deepEqual(decoded?.nexthops, [
    { gateway: '192.0.2.2', ifindex: a0, weight: 1 },
    { gateway: '198.51.100.2', ifindex: b0, weight: 3 },
  ]);
  assert.equal(decoded?.metric, METRIC);
  assert.throws(() => rt.addRoute(route), { code: 'EEXIST' });

  rt.replaceRoute({ ...route, nexthops: [{ gateway: '198.51.100.2', ifindex: b0 }] });
  const [single] = ipRoutes(4, 'default');
  assert.equal(single?.gateway, '198.51.100.2');
  assert.equal(single?.nexthops, undefined);

  rt.deleteRoute({ dst: '0.0.0.0/0', protocol: PROTO, metric: METRIC, nexthops: [] });
  assert.deepEqual(ipRoutes(4, 'default'), []);
  assert.throws(() => rt.deleteRoute({ dst: '0.0.0.0/0', protocol: PROTO, metric: METRIC, nexthops: [] }), {
    code: 'ESRCH',
  });
});

test('IPv6 multipath default: replace and delete as a whole', () => {
  const route: Route = {
    dst: '::/0',
    protocol: PROTO,
    metric: METRIC,
    nexthops: [
      { gateway: '2001:db8:1::2', ifindex: a0 },
      { gateway: '2001:db8:2::2', ifindex: b0 },
    ],
  };
  rt.replaceRoute(route);
  const [ip] = ipRoutes(6, 'default');
  assert.deepEqual(
    ip?.nexthops?.map((n) => [n.gateway, n.dev]),
    [
      ['2001:db8:1::2', 'a0'],
      ['2001:db8:2::2', 'b0'],
    ],
  );
  const [decoded] = rt.routes({ family: 6, protocol: PROTO, dst: '::/0' });
  assert.deepEqual(
    decoded?.nexthops.map((n) => n.gateway),
    ['2001:db8:1::2', '2001:db8:2::2'],
  );
  rt.replaceRoute({ ...route, nexthops: [{ gateway: '2001:db8:2::2', ifindex: b0 }] });
  assert.equal(ipRoutes(6, 'default')[0]?.gateway, '2001:db8:2::2');
  rt.deleteRoute({ dst: '::/0', protocol: PROTO, metric: METRIC, nexthops: [] });
  assert.deepEqual(ipRoutes(6, 'default'), []);
});

test('IPv4 route via IPv6 link-local next hops (RTA_VIA), multipath', () => {
  const route: Route = {
    dst: '203.0.113.0/24',
    protocol: PROTO,
    nexthops: [
      { gateway: 'fe80::2', ifindex: a0 },
      { gateway: 'fe80::3', ifindex: b0 },
    ],
  };
  rt.replaceRoute(route);
  const [ip] = ipRoutes(4, '203.0.113.0/24');
  assert.deepEqual(
    ip?.nexthops?.map((n) => [n.via?.family, n.via?.host, n.dev]),
    [
      ['inet6', 'fe80::2', 'a0'],
      ['inet6', 'fe80::3', 'b0'],
    ],
  );
  const [decoded] = rt.routes({ family: 4, dst: '203.0.113.0/24' });
  assert.deepEqual(
    decoded?.nexthops.map((n) => n.gateway),
    ['fe80::2', 'fe80::3'],
  );
  rt.replaceRoute({ ...route, nexthops: [{ gateway: 'fe80::2', ifindex: a0 }] });
  assert.deepEqual(ipRoutes(4, '203.0.113.0/24')[0]?.via, { family: 'inet6', host: 'fe80::2' });
  rt.deleteRoute({ dst: '203.0.113.0/24', protocol: PROTO, nexthops: [] });
  assert.deepEqual(ipRoutes(4, '203.0.113.0/24'), []);
  assert.throws(() => rt.addRoute({ dst: '::/0', nexthops: [{ gateway: '192.0.2.2' }] }), {
    code: 'ERR_INVALID_ARGUMENT',
  });
});

test('blackhole route and neighbours', () => {
  rt.addRoute({ dst: '198.51.100.128/25', type: 'blackhole', protocol: PROTO, nexthops: [] });
  assert.equal(rt.routes({ family: 4, dst: '198.51.100.128/25' })[0]?.type, 'blackhole');
  rt.deleteRoute({ dst: '198.51.100.128/25', type: 'blackhole', protocol: PROTO, nexthops: [] });

  rt.setNeighbour({ ifindex: a0, address: '192.0.2.9', mac: '02:00:00:00:00:09' });
  const n = rt.neighbours({ family: 4, ifindex: a0 }).find((x) => x.address === '192.0.2.9');
  assert.equal(n?.mac, '02:00:00:00:00:09');
  assert.equal(n?.state, NUD_PERMANENT);
  assert.match(ns.ip(['neigh', 'show', 'dev', 'a0']), /192\.0\.2\.9 lladdr 02:00:00:00:00:09 PERMANENT/);
  rt.deleteNeighbour({ ifindex: a0, address: '192.0.2.9' });
  assert.ok(!rt.neighbours({ ifindex: a0 }).some((x) => x.address === '192.0.2.9'));
});
