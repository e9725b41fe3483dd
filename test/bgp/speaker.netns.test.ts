// The speaker against real peers in network namespaces: FRR (tor1) and BIRD (tor2), each with an
// IPv4 and an IPv6 session to the host and each sending a default route. Asserts: all four sessions
// reach Established; the host /32 and /128 and a VIP /32 and /128 appear at both peers with AS_PATH
// = the host's AS; an identical re-advertisement sends no UPDATE (counted on both sides); a MED
// change does; withdraw removes the VIPs at both; the host namespace's kernel gets ONE default route
// per family with two next hops and the configured protocol number, shrinking to one when BIRD goes
// down and removed on shutdown. Printed: times from advertise() / withdraw() to the route in (out of)
// each ToR's FIB over 20 trials (rtnetlink polled every millisecond in the ToR namespaces), and the
// time until 1,000 IPv6 VIPs advertised at once are all in each ToR's FIB. The host uses a 4-octet AS.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { birdc, renderBird, startBird } from '../../lab/bird.js';
import { runIn, waitFor } from '../../lab/exec.js';
import { renderBgpd, startFrr, vtyshJson } from '../../lab/frr.js';
import { createNamespace, wireHostToTor } from '../../lab/netns.js';
import { type PeerSpec, singleHostTorPeers } from '../../lab/peers.js';
import { Afi } from '../../src/bgp/codec/constants.js';
import type { Prefix } from '../../src/bgp/codec/prefix.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import { DefaultRouteWriter } from '../../src/host/default-route.js';
import { Rtnetlink } from '../../src/native/rtnl.js';
import { labPeer, SpeakerLab } from './speaker-lab.js';

const lab = new SpeakerLab('spk');
const NS = { host: lab.ns('h'), tor1: lab.ns('t1'), tor2: lab.ns('t2') };
/** A 4-octet AS (RFC 6793) for the host. */
const HOST_AS = 4_200_000_101;
const TOR_AS = { tor1: 65001, tor2: 65002 };
const PROTOCOL = 211;
const METRIC = 30;
const HOST4 = '198.51.100.11';
const HOST6 = '2001:db8:100::11';
const VIP4: Prefix = { afi: Afi.IPV4, addr: '203.0.113.10', len: 32 };
const VIP6: Prefix = { afi: Afi.IPV6, addr: '2001:db8:ffff::10', len: 128 };
/** Link addresses: host side, ToR side. */
const LINK = {
  tor1: { h4: '192.0.2.0', t4: '192.0.2.1', h6: '2001:db8:1::', t6: '2001:db8:1::1' },
  tor2: { h4: '192.0.2.2', t4: '192.0.2.3', h6: '2001:db8:2::', t6: '2001:db8:2::1' },
};

function torSpecs(tor: 'tor1' | 'tor2'): PeerSpec[] {
  return singleHostTorPeers(LINK[tor], TOR_AS[tor], HOST_AS);
}

/** Timed advertise/withdraw rounds. */
const TRIALS = 20;
/** VIPs advertised at once for the bulk figure. */
const BULK = 1000;

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  return `p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`;
}

interface FrrRoutes {
  routes?: Record<string, { aspath?: { string?: string }; path?: string; med?: number; metric?: number }[]>;
}

async function frrPrefixes(family: 4 | 6): Promise<Map<string, { path: string; med: number | undefined }>> {
  const j = await vtyshJson<FrrRoutes>(join(lab.dir, 'tor1'), `show bgp ipv${family} unicast json`);
  const out = new Map<string, { path: string; med: number | undefined }>();
  for (const [p, paths] of Object.entries(j.routes ?? {})) {
    const first = paths[0];
    out.set(p, { path: first?.path ?? first?.aspath?.string ?? '', med: first?.metric ?? first?.med });
  }
  return out;
}

async function frrUpdatesReceived(): Promise<number> {
  const j = await vtyshJson<Record<string, { messageStats?: { updatesRecv?: number } }>>(
    join(lab.dir, 'tor1'),
    'show bgp neighbors json',
  );
  return Object.values(j).reduce((n, v) => n + (v.messageStats?.updatesRecv ?? 0), 0);
}

async function birdRoutes(family: 4 | 6): Promise<string> {
  return birdc(join(lab.dir, 'tor2', 'bird.ctl'), `show route table master${family}`);
}

function kernelDefault(
  family: 4 | 6,
): { protocol: string | number; metric?: number; nexthops?: { gateway: string }[]; gateway?: string }[] {
  return JSON.parse(runIn(NS.host, 'ip', [`-${family}`, '-j', 'route', 'show', 'default']));
}

function gatewaysOf(family: 4 | 6): string[] {
  const routes = kernelDefault(family);
  if (routes.length !== 1) return routes.length === 0 ? [] : ['more than one route'];
  const r = routes[0]!;
  return (r.nexthops?.map((n) => n.gateway) ?? (r.gateway ? [r.gateway] : [])).sort();
}

test('speaker with FRR and BIRD: sessions, VIPs at both peers, no-op re-advertise, ECMP default in the kernel', {
  timeout: 60_000,
}, async () => {
  const t0 = Date.now();
  createNamespace(NS.host);
  createNamespace(NS.tor1);
  createNamespace(NS.tor2);
  for (const tor of ['tor1', 'tor2'] as const) {
    wireHostToTor(NS.host, tor, NS[tor], LINK[tor]);
  }
  await startFrr(
    lab.procs,
    NS.tor1,
    join(lab.dir, 'tor1'),
    'tor1',
    renderBgpd('tor1', '192.0.2.101', torSpecs('tor1')),
  );
  await startBird(
    lab.procs,
    NS.tor2,
    join(lab.dir, 'tor2'),
    'tor2',
    renderBird('192.0.2.102', torSpecs('tor2'), join(lab.dir, 'tor2', 'bird.log'), {
      v4: ['0.0.0.0/0'],
      v6: ['::/0'],
    }),
  );

  const rtnl = Rtnetlink.open({ netns: NS.host });
  lab.onTeardown(() => rtnl.close());
  const writer = new DefaultRouteWriter(rtnl, { protocol: PROTOCOL, metric: METRIC });
  lab.speaker = await BgpSpeaker.start(
    {
      node: { id: 'h1', host: { ipv4: HOST4, ipv6: HOST6 }, asn: HOST_AS, routerId: HOST4, uplinks: [] },
      peers: [
        labPeer('tor1_4', LINK.tor1.t4, TOR_AS.tor1),
        labPeer('tor1_6', LINK.tor1.t6, TOR_AS.tor1),
        labPeer('tor2_4', LINK.tor2.t4, TOR_AS.tor2),
        labPeer('tor2_6', LINK.tor2.t6, TOR_AS.tor2),
      ],
    },
    { netns: NS.host, retryBaseMs: 200, retryMaxMs: 1000, defaultRoutes: writer },
  );
  const sp = lab.speaker;
  await waitFor(
    'four sessions Established',
    async () => (sp.peers().every((p) => p.state === 'established') ? true : undefined),
    20_000,
    20,
  );
  const tUp = Date.now();
  sp.releaseEndOfRib();
  assert.ok(
    sp.peers().every((p) => p.endOfRibOut === 1),
    'one End-of-RIB per session (one family each)',
  );

  // The kernel: one default route per family, both ToRs as next hops, our protocol and metric.
  await waitFor(
    'two IPv4 default next hops',
    async () => (gatewaysOf(4).length === 2 ? true : undefined),
    10_000,
    20,
  );
  await waitFor(
    'two IPv6 default next hops',
    async () => (gatewaysOf(6).length === 2 ? true : undefined),
    10_000,
    20,
  );
  assert.deepEqual(gatewaysOf(4), [LINK.tor1.t4, LINK.tor2.t4]);
  assert.deepEqual(gatewaysOf(6), [LINK.tor1.t6, LINK.tor2.t6]);
  for (const f of [4, 6] as const) {
    const [r] = kernelDefault(f);
    assert.equal(String(r!.protocol), String(PROTOCOL));
    assert.equal(r!.metric, METRIC);
  }

  // Host addresses are exported from the start; VIPs once advertised.
  const tAdv = Date.now();
  sp.advertise(VIP4);
  sp.advertise(VIP6);
  assert.equal(await sp.flushed(1000), true);
  const atFrr = await waitFor(
    'VIPs at FRR',
    async () => {
      const [v4, v6] = await Promise.all([frrPrefixes(4), frrPrefixes(6)]);
      return v4.has('203.0.113.10/32') && v6.has('2001:db8:ffff::10/128')
        ? { v4, v6, ms: Date.now() - tAdv }
        : undefined;
    },
    5000,
    10,
  );
  const birdMs = await waitFor(
    'VIPs at BIRD',
    async () => {
      const [v4, v6] = await Promise.all([birdRoutes(4), birdRoutes(6)]);
      return v4.includes('203.0.113.10/32') && v6.includes('2001:db8:ffff::10/128')
        ? Date.now() - tAdv
        : undefined;
    },
    5000,
    10,
  );
  for (const p of ['198.51.100.11/32', '203.0.113.10/32'])
    assert.equal(atFrr.v4.get(p)?.path, String(HOST_AS), p);
  for (const p of ['2001:db8:100::11/128', '2001:db8:ffff::10/128'])
    assert.equal(atFrr.v6.get(p)?.path, String(HOST_AS), p);
  const bird4 = await birdRoutes(4);
  assert.match(bird4, /198\.51\.100\.11\/32/);

  // Identical re-advertisement: nothing on the wire (our counters and FRR's).
  const before = sp.peers().map((p) => p.updatesOut);
  const frrBefore = await frrUpdatesReceived();
  sp.advertise(VIP4);
  sp.advertise(VIP6, {});
  assert.equal(await sp.flushed(1000), true);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(
    sp.peers().map((p) => p.updatesOut),
    before,
  );
  assert.equal(await frrUpdatesReceived(), frrBefore);
  // A changed attribute is sent: one UPDATE to each IPv4 session, MED visible at FRR.
  sp.advertise(VIP4, { med: 50 });
  assert.equal(await sp.flushed(1000), true);
  assert.deepEqual(
    sp.peers().map((p, i) => p.updatesOut - before[i]!),
    [1, 0, 1, 0],
  );
  await waitFor(
    'MED 50 at FRR',
    async () => ((await frrPrefixes(4)).get('203.0.113.10/32')?.med === 50 ? true : undefined),
    5000,
    10,
  );

  // Withdraw: the VIPs leave both peers, the host address stays.
  const tWd = Date.now();
  sp.withdraw(VIP4);
  sp.withdraw(VIP6);
  assert.equal(await sp.flushed(1000), true);
  const wdFrrMs = await waitFor(
    'VIPs gone at FRR',
    async () => {
      const [v4, v6] = await Promise.all([frrPrefixes(4), frrPrefixes(6)]);
      return !v4.has('203.0.113.10/32') && !v6.has('2001:db8:ffff::10/128') && v4.has('198.51.100.11/32')
        ? Date.now() - tWd
        : undefined;
    },
    5000,
    10,
  );
  await waitFor(
    'VIPs gone at BIRD',
    async () => {
      const [v4, v6] = await Promise.all([birdRoutes(4), birdRoutes(6)]);
      return !v4.includes('203.0.113.10/32') &&
        !v6.includes('2001:db8:ffff::10') &&
        v4.includes('198.51.100.11/32')
        ? true
        : undefined;
    },
    5000,
    10,
  );

  // Timed trials: advertise() / withdraw() to the route in (out of) both ToRs' FIBs, polled over
  // rtnetlink in their namespaces every millisecond.
  const fib = { tor1: Rtnetlink.open({ netns: NS.tor1 }), tor2: Rtnetlink.open({ netns: NS.tor2 }) };
  lab.onTeardown(() => {
    fib.tor1.close();
    fib.tor2.close();
  });
  const inFib = (rt: Rtnetlink) => rt.routes({ family: 4, dst: '203.0.113.10/32' }).length > 0;
  /** ms until each ToR's FIB has (or lacks) the VIP. */
  const timeUntil = async (want: boolean): Promise<{ tor1: number; tor2: number }> => {
    const t = performance.now();
    const seen: { tor1?: number; tor2?: number } = {};
    while (seen.tor1 === undefined || seen.tor2 === undefined) {
      for (const tor of ['tor1', 'tor2'] as const) {
        if (seen[tor] === undefined && inFib(fib[tor]) === want) seen[tor] = performance.now() - t;
      }
      if (performance.now() - t > 5000) throw new Error('FIB change not seen in 5 s');
      await new Promise((r) => setTimeout(r, 1));
    }
    return { tor1: seen.tor1, tor2: seen.tor2 };
  };
  const adv = { tor1: [] as number[], tor2: [] as number[] };
  const wd = { tor1: [] as number[], tor2: [] as number[] };
  for (let i = 0; i < TRIALS; i++) {
    sp.advertise(VIP4);
    const a = await timeUntil(true);
    sp.withdraw(VIP4);
    const w = await timeUntil(false);
    for (const tor of ['tor1', 'tor2'] as const) {
      adv[tor].push(a[tor]);
      wd[tor].push(w[tor]);
    }
  }

  // 1,000 IPv6 VIPs at once: time until all are in each ToR's FIB.
  const many: Prefix[] = Array.from({ length: BULK }, (_, i) => ({
    afi: Afi.IPV6,
    addr: `2001:db8:ffff::1:${i.toString(16)}`,
    len: 128,
  }));
  const countIn = (rt: Rtnetlink) =>
    rt.routes({ family: 6 }).filter((r) => r.dst.startsWith('2001:db8:ffff::1:')).length;
  const updatesBefore = sp.peers().find((p) => p.name === 'tor2_6')!.updatesOut;
  const tBulk = performance.now();
  for (const p of many) sp.advertise(p);
  const bulkSeen: { tor1?: number; tor2?: number } = {};
  while (bulkSeen.tor1 === undefined || bulkSeen.tor2 === undefined) {
    for (const tor of ['tor1', 'tor2'] as const) {
      if (bulkSeen[tor] === undefined && countIn(fib[tor]) === BULK)
        bulkSeen[tor] = performance.now() - tBulk;
    }
    assert.ok(performance.now() - tBulk < 10_000, `${BULK} VIPs not in both FIBs within 10 s`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const bulkUpdates = sp.peers().find((p) => p.name === 'tor2_6')!.updatesOut - updatesBefore;
  for (const p of many) sp.withdraw(p);
  await waitFor(
    'bulk withdrawn',
    async () => (countIn(fib.tor1) + countIn(fib.tor2) === 0 ? true : undefined),
    10_000,
    20,
  );

  // BIRD goes away: its next hops leave the default routes.
  const tDown = Date.now();
  await lab.procs.stop(lab.procs.list().find((p) => p.label === 'bird tor2')!);
  await waitFor(
    'one IPv4 next hop',
    async () => (gatewaysOf(4).length === 1 && gatewaysOf(6).length === 1 ? true : undefined),
    10_000,
    20,
  );
  const downMs = Date.now() - tDown;
  assert.deepEqual(gatewaysOf(4), [LINK.tor1.t4]);
  assert.deepEqual(gatewaysOf(6), [LINK.tor1.t6]);

  // Shutdown: the default routes are removed.
  sp.stop();
  lab.speaker = undefined;
  assert.deepEqual(kernelDefault(4), []);
  assert.deepEqual(kernelDefault(6), []);
  console.log(
    `# speaker netns: sessions up ${tUp - t0} ms after start; advertise→FRR ${atFrr.ms} ms, →BIRD ${birdMs} ms (polling vtysh/birdc); ` +
      `withdraw→FRR ${wdFrrMs} ms; BIRD stop→one next hop ${downMs} ms; total ${Date.now() - t0} ms\n` +
      `# ${TRIALS} trials to the ToR's FIB: FRR advertise ${summary(adv.tor1)}, withdraw ${summary(wd.tor1)}; ` +
      `BIRD advertise ${summary(adv.tor2)}, withdraw ${summary(wd.tor2)}\n` +
      `# ${BULK} IPv6 VIPs advertised at once: all in FRR's FIB after ${bulkSeen.tor1!.toFixed(0)} ms, ` +
      `in BIRD's after ${bulkSeen.tor2!.toFixed(0)} ms (${bulkUpdates} UPDATEs to BIRD)`,
  );
});
