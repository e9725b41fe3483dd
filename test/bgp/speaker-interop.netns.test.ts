// The speaker against a third and a fourth BGP implementation in namespaces: GoBGP 3.10 (tor3, IPv4
// and IPv6 sessions, sends a default per family) and ExaBGP 4.2 (tor4, one IPv4 session, announcing
// whatever it is told, including a family the session did not negotiate). Asserts: sessions up, the
// host's routes and a VIP at GoBGP; then ExaBGP's default with a next hop that is the host's own
// address (RFC 4271 §5.1.3), one that is not on-link, and an IPv6 ::/0 on the IPv4-only session
// (RFC 4760 §7) are each not used and counted by reason, while the kernel's ECMP default keeps GoBGP's
// next hop; ExaBGP's valid next hop joins it; GoBGP stopped → its next hop leaves the kernel.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startExabgp } from '../../lab/exabgp.js';
import { runIn, waitFor } from '../../lab/exec.js';
import { renderGobgp, startGobgp } from '../../lab/gobgp.js';
import { createNamespace, wireHostToTor } from '../../lab/netns.js';
import { type PeerSpec, singleHostTorPeers } from '../../lab/peers.js';
import { Afi } from '../../src/bgp/codec/constants.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import { DefaultRouteWriter } from '../../src/host/default-route.js';
import { Rtnetlink } from '../../src/native/rtnl.js';
import { labPeer, SpeakerLab, withEvents } from './speaker-lab.js';

const lab = new SpeakerLab('interop');
const NS = { host: lab.ns('h'), tor3: lab.ns('t3'), tor4: lab.ns('t4') };
const HOST_AS = 65100;
const TOR_AS = { tor3: 65003, tor4: 65004 };
const HOST4 = '198.51.100.11';
const HOST6 = '2001:db8:100::11';
const VIP4 = '203.0.113.10';
const OFF_LINK = '203.0.113.99';
const LINK = {
  tor3: { h4: '192.0.2.4', t4: '192.0.2.5', h6: '2001:db8:3::', t6: '2001:db8:3::1' },
  tor4: { h4: '192.0.2.6', t4: '192.0.2.7', h6: '2001:db8:4::', t6: '2001:db8:4::1' },
};
const SESSION_UP_MS = 20_000;
const ROUTE_MS = 10_000;

function gateways(family: 4 | 6): string[] {
  const routes = JSON.parse(runIn(NS.host, 'ip', [`-${family}`, '-j', 'route', 'show', 'default'])) as {
    gateway?: string;
    nexthops?: { gateway: string }[];
  }[];
  return routes.flatMap((r) => r.nexthops?.map((n) => n.gateway) ?? (r.gateway ? [r.gateway] : [])).sort();
}

test('GoBGP and ExaBGP as ToRs: own-address, off-link and unnegotiated-family routes never reach the kernel', {
  timeout: 60_000,
}, async () => {
  const t0 = Date.now();
  for (const ns of Object.values(NS)) createNamespace(ns);
  for (const tor of ['tor3', 'tor4'] as const) {
    wireHostToTor(NS.host, tor, NS[tor], LINK[tor]);
  }
  const gobgpPeers: PeerSpec[] = singleHostTorPeers(LINK.tor3, TOR_AS.tor3, HOST_AS);
  const gobgp = await startGobgp(
    lab.procs,
    NS.tor3,
    join(lab.dir, 'tor3'),
    'tor3',
    renderGobgp('192.0.2.103', gobgpPeers),
  );
  const exa = startExabgp(lab.procs, NS.tor4, join(lab.dir, 'tor4'), 'tor4', {
    routerId: '192.0.2.104',
    localAddress: LINK.tor4.t4,
    peerAddress: LINK.tor4.h4,
    localAs: TOR_AS.tor4,
    peerAs: HOST_AS,
    families: ['ipv4 unicast', 'ipv6 unicast'],
    anyFamily: true,
  });

  const rtnl = Rtnetlink.open({ netns: NS.host });
  lab.onTeardown(() => rtnl.close());
  const events: string[] = [];
  const sp = await BgpSpeaker.start(
    {
      node: { id: 'h1', host: { ipv4: HOST4, ipv6: HOST6 }, asn: HOST_AS, routerId: HOST4, uplinks: [] },
      peers: [
        labPeer('gobgp_4', LINK.tor3.t4, TOR_AS.tor3),
        labPeer('gobgp_6', LINK.tor3.t6, TOR_AS.tor3),
        labPeer('exa_4', LINK.tor4.t4, TOR_AS.tor4),
      ],
    },
    {
      netns: NS.host,
      retryBaseMs: 200,
      retryMaxMs: 1000,
      defaultRoutes: new DefaultRouteWriter(rtnl, { protocol: 211, metric: 30 }),
      log: (e, f) => events.push(`${e} ${JSON.stringify(f)}`),
    },
  );
  lab.speaker = sp;
  const exaStatus = () => sp.peers().find((p) => p.name === 'exa_4')!;
  /** ExaBGP announces; resolves once its UPDATE has been received and handled. */
  const exaAnnounces = async (prefix: string, nextHop: string): Promise<void> => {
    const before = exaStatus().updatesIn;
    exa.announce(prefix, nextHop);
    await waitFor(
      `ExaBGP's ${prefix} via ${nextHop} received`,
      async () => (exaStatus().updatesIn > before ? true : undefined),
      ROUTE_MS,
      10,
    );
  };
  await withEvents(events, async () => {
    await waitFor(
      'three sessions Established',
      async () => (sp.peers().every((p) => p.state === 'established') ? true : undefined),
      SESSION_UP_MS,
      20,
    );
    const tUp = Date.now();
    sp.releaseEndOfRib();
    sp.advertise({ afi: Afi.IPV4, addr: VIP4, len: 32 });

    // GoBGP: the host's routes and the VIP arrive; its defaults become our kernel defaults
    await gobgp.announce('0.0.0.0/0', LINK.tor3.t4);
    await gobgp.announce('::/0', LINK.tor3.t6);
    await waitFor(
      'host routes and VIP at GoBGP',
      async () => {
        const [v4, v6] = await Promise.all([gobgp.prefixes(4), gobgp.prefixes(6)]);
        return v4.includes(`${HOST4}/32`) && v4.includes(`${VIP4}/32`) && v6.includes(`${HOST6}/128`)
          ? true
          : undefined;
      },
      ROUTE_MS,
    );
    await waitFor(
      "GoBGP's defaults in the kernel",
      async () => (gateways(4).length === 1 && gateways(6).length === 1 ? true : undefined),
      ROUTE_MS,
      20,
    );
    assert.deepEqual(gateways(4), [LINK.tor3.t4]);
    assert.deepEqual(gateways(6), [LINK.tor3.t6]);
    // what `show routes` lists per peer: each session was sent its own family only
    const sentTo = (peer: string) =>
      sp
        .sent()
        .filter((r) => r.peer === peer)
        .map((r) => r.prefix)
        .sort();
    assert.deepEqual(sentTo('gobgp_4'), [`${HOST4}/32`, `${VIP4}/32`]);
    assert.deepEqual(sentTo('gobgp_6'), [`${HOST6}/128`]);

    // ExaBGP, 1: a default via the host's own address on that link
    await exaAnnounces('0.0.0.0/0', LINK.tor4.h4);
    assert.deepEqual(gateways(4), [LINK.tor3.t4], 'no default via our own address');
    assert.equal(exaStatus().routesRejected['nexthop-own-address'], 1);

    // 2: a default via an address on no link of the host (the kernel would refuse the whole ECMP route)
    await exaAnnounces('0.0.0.0/0', OFF_LINK);
    assert.deepEqual(gateways(4), [LINK.tor3.t4], 'only the on-link next hop');
    assert.equal(exaStatus().routesRejected['nexthop-not-on-link'], 1);

    // 3: ::/0 in MP_REACH_NLRI on a session that negotiated IPv4 unicast only
    await exaAnnounces('::/0', LINK.tor4.t6);
    assert.deepEqual(gateways(6), [LINK.tor3.t6], 'no IPv6 default from an IPv4-only session');
    assert.equal(exaStatus().routesRejected['family-not-negotiated'], 1);
    assert.equal(exaStatus().state, 'established', 'ignored, not a session reset');
    assert.equal(exaStatus().prefixesAccepted, 0);

    // 4: a valid next hop from ExaBGP joins GoBGP's in the ECMP default
    await exaAnnounces('0.0.0.0/0', LINK.tor4.t4);
    await waitFor(
      'two IPv4 default next hops',
      async () => (gateways(4).length === 2 ? true : undefined),
      ROUTE_MS,
      20,
    );
    assert.deepEqual(gateways(4), [LINK.tor3.t4, LINK.tor4.t4]);

    // GoBGP goes away: its next hops leave the kernel, ExaBGP's stays
    const tStop = Date.now();
    await lab.procs.stop(gobgp.proc);
    await waitFor(
      "GoBGP's next hops gone",
      async () => (gateways(4).length === 1 && gateways(6).length === 0 ? true : undefined),
      ROUTE_MS,
      20,
    );
    assert.deepEqual(gateways(4), [LINK.tor4.t4]);
    assert.deepEqual(exaStatus().routesRejected, {
      'family-not-negotiated': 1,
      'nexthop-own-address': 1,
      'nexthop-not-on-link': 1,
      'nexthop-missing': 0,
    });
    assert.ok(!events.some((e) => e.startsWith('bgp-default-route-failed')), 'no kernel write failed');
    console.log(
      `# interop GoBGP+ExaBGP: sessions up ${tUp - t0} ms after start; GoBGP stopped → its next hops gone ` +
        `${Date.now() - tStop} ms; total ${Date.now() - t0} ms`,
    );
  });
});
