// Graceful restart as the restarting speaker (RFC 4724) against FRR 8.4 (tor1) and BIRD 2.0 (tor2),
// both helpers: a speaker advertises a VIP (v4 and v6) and the host address, and is stopped for a
// restart (stop({restart: true}): no NOTIFICATION, nothing withdrawn, our kernel default routes left);
// a new speaker starts `restarting` (R bit, selection deferral), advertises again and releases
// End-of-RIB. Meanwhile the ToRs' FIBs (the VIP route) and the host's default routes are sampled every
// SAMPLE_MS over rtnetlink: with graceful restart no sample may miss a route, and the ToRs' BGP tables
// mark the VIP stale during the restart and no longer after our End-of-RIB. The same restart with
// graceful restart disabled on our side is the baseline: the ToRs' FIBs lose the VIP (figure printed).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { birdc, renderBird, startBird } from '../../lab/bird.js';
import { waitFor } from '../../lab/exec.js';
import { renderBgpd, startFrr, vtyshJson } from '../../lab/frr.js';
import { addAddress, createNamespace, createVeth, linkUp } from '../../lab/netns.js';
import { singleHostTorPeers } from '../../lab/peers.js';
import { Afi } from '../../src/bgp/codec/constants.js';
import type { Prefix } from '../../src/bgp/codec/prefix.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import type { PeerConfig } from '../../src/config/types.js';
import { DefaultRouteWriter } from '../../src/host/default-route.js';
import { Rtnetlink } from '../../src/native/rtnl.js';
import { labPeer, SpeakerLab, withEvents } from './speaker-lab.js';

const lab = new SpeakerLab('grs');
const NS = { host: lab.ns('h'), tor1: lab.ns('t1'), tor2: lab.ns('t2') };
const HOST_AS = 65100;
const TOR_AS = { tor1: 65001, tor2: 65002 };
const HOST4 = '198.51.100.11';
const HOST6 = '2001:db8:100::11';
const VIP4: Prefix = { afi: Afi.IPV4, addr: '203.0.113.10', len: 32 };
const VIP6: Prefix = { afi: Afi.IPV6, addr: '2001:db8:ffff::10', len: 128 };
const LINK = {
  tor1: { h4: '192.0.2.0', t4: '192.0.2.1', h6: '2001:db8:1::', t6: '2001:db8:1::1' },
  tor2: { h4: '192.0.2.2', t4: '192.0.2.3', h6: '2001:db8:2::', t6: '2001:db8:2::1' },
};
const PROTOCOL = 211;
const SAMPLE_MS = 5;
/** Down time between the two speakers (a process restart: exit, systemd, start, adopt the pins). */
const RESTART_GAP_MS = 1500;
/** From the sessions' return to End-of-RIB (the agent's first health checks settling). */
const SETTLE_MS = 500;

function peers(gr: boolean): PeerConfig[] {
  const g = { gracefulRestart: { enabled: gr, restartTimeMs: 30_000 } };
  return [
    labPeer('tor1_4', LINK.tor1.t4, TOR_AS.tor1, g),
    labPeer('tor1_6', LINK.tor1.t6, TOR_AS.tor1, g),
    labPeer('tor2_4', LINK.tor2.t4, TOR_AS.tor2, g),
    labPeer('tor2_6', LINK.tor2.t6, TOR_AS.tor2, g),
  ];
}

/** Samples of what forwards: the VIPs in each ToR's FIB, the host's default next hops per family. */
class Sampler {
  readonly rt = {
    tor1: Rtnetlink.open({ netns: NS.tor1 }),
    tor2: Rtnetlink.open({ netns: NS.tor2 }),
    host: Rtnetlink.open({ netns: NS.host }),
  };
  samples = 0;
  /** Per watched thing: samples without it, and the longest run without it (ms). */
  readonly missing = new Map<string, { samples: number; longestMs: number; since?: number }>();
  private timer: NodeJS.Timeout | undefined;

  /** Start sampling afresh. */
  start(): void {
    this.missing.clear();
    this.samples = 0;
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
  }

  /** Is everything watched there now? (one look, not recorded) */
  allPresent(): boolean {
    return [...this.looks()].every(([, present]) => present);
  }

  stop(): void {
    clearInterval(this.timer);
    const now = performance.now();
    for (const m of this.missing.values())
      if (m.since !== undefined) m.longestMs = Math.max(m.longestMs, now - m.since);
  }

  close(): void {
    for (const r of Object.values(this.rt)) r.close();
  }

  private mark(what: string, present: boolean): void {
    const m = this.missing.get(what) ?? { samples: 0, longestMs: 0 };
    this.missing.set(what, m);
    const now = performance.now();
    if (!present) {
      m.samples++;
      m.since ??= now;
    } else if (m.since !== undefined) {
      m.longestMs = Math.max(m.longestMs, now - m.since);
      m.since = undefined;
    }
  }

  private *looks(): Generator<[string, boolean]> {
    for (const tor of ['tor1', 'tor2'] as const) {
      yield [`${tor} ${VIP4.addr}`, this.rt[tor].routes({ family: 4, dst: `${VIP4.addr}/32` }).length > 0];
      yield [`${tor} ${VIP6.addr}`, this.rt[tor].routes({ family: 6, dst: `${VIP6.addr}/128` }).length > 0];
    }
    for (const f of [4, 6] as const) {
      const d = this.rt.host.routes({ family: f, protocol: PROTOCOL }).find((r) => r.dst.endsWith('/0'));
      yield [`host default v${f} two next hops`, (d?.nexthops?.length ?? 0) === 2];
    }
  }

  private sample(): void {
    this.samples++;
    for (const [what, present] of this.looks()) this.mark(what, present);
  }

  report(): string {
    return [...this.missing.entries()]
      .map(
        ([what, m]) =>
          `${what}: missing ${m.samples}/${this.samples} samples, longest ${m.longestMs.toFixed(0)} ms`,
      )
      .join('\n# ');
  }
}

async function startSpeaker(
  gr: boolean,
  restarting: boolean,
  events: string[],
  writer: DefaultRouteWriter,
): Promise<BgpSpeaker> {
  const sp = await BgpSpeaker.start(
    {
      node: { id: 'h1', host: { ipv4: HOST4, ipv6: HOST6 }, asn: HOST_AS, routerId: HOST4, uplinks: [] },
      peers: peers(gr),
    },
    {
      netns: NS.host,
      retryBaseMs: 200,
      retryMaxMs: 1000,
      defaultRoutes: writer,
      restarting,
      log: (e, f) => events.push(`${e} ${JSON.stringify(f)}`),
    },
  );
  lab.speaker = sp;
  sp.advertise(VIP4);
  sp.advertise(VIP6);
  await waitFor(
    'four sessions Established',
    async () => (sp.peers().every((p) => p.state === 'established') ? true : undefined),
    20_000,
    10,
  );
  return sp;
}

interface FrrPathJson {
  paths?: { stale?: boolean }[];
}

async function frrStale(): Promise<boolean> {
  const j = await vtyshJson<FrrPathJson>(join(lab.dir, 'tor1'), `show bgp ipv4 unicast ${VIP4.addr}/32 json`);
  return j.paths?.some((p) => p.stale === true) ?? false;
}

/** BIRD shows no stale mark on routes: its protocol says "Neighbor graceful restart active" meanwhile. */
async function birdStale(): Promise<boolean> {
  const out = await birdc(join(lab.dir, 'tor2', 'bird.ctl'), 'show protocols all h1_4');
  return /graceful restart active/i.test(out);
}

test('graceful restart as the restarting speaker: FRR and BIRD keep the routes through a restart; without it they lose them', {
  timeout: 120_000,
}, async () => {
  createNamespace(NS.host);
  createNamespace(NS.tor1);
  createNamespace(NS.tor2);
  for (const tor of ['tor1', 'tor2'] as const) {
    const l = LINK[tor];
    createVeth(NS.host, `to-${tor}`, NS[tor], 'to-host');
    addAddress(NS.host, `to-${tor}`, `${l.h4}/31`);
    addAddress(NS.host, `to-${tor}`, `${l.h6}/127`);
    addAddress(NS[tor], 'to-host', `${l.t4}/31`);
    addAddress(NS[tor], 'to-host', `${l.t6}/127`);
    linkUp(NS.host, `to-${tor}`);
    linkUp(NS[tor], 'to-host');
  }
  const gr = { gracefulRestart: true };
  await startFrr(
    lab.procs,
    NS.tor1,
    join(lab.dir, 'tor1'),
    'tor1',
    renderBgpd('tor1', '192.0.2.101', singleHostTorPeers(LINK.tor1, TOR_AS.tor1, HOST_AS), gr),
  );
  await startBird(
    lab.procs,
    NS.tor2,
    join(lab.dir, 'tor2'),
    'tor2',
    renderBird(
      '192.0.2.102',
      singleHostTorPeers(LINK.tor2, TOR_AS.tor2, HOST_AS),
      join(lab.dir, 'tor2', 'bird.log'),
      { v4: ['0.0.0.0/0'], v6: ['::/0'] },
      gr,
    ),
  );
  const rtnl = Rtnetlink.open({ netns: NS.host });
  lab.onTeardown(() => rtnl.close());
  const writer = new DefaultRouteWriter(rtnl, { protocol: PROTOCOL, metric: 30 });
  const sampler = new Sampler();
  lab.onTeardown(() => {
    sampler.stop();
    sampler.close();
  });
  const events: string[] = [];
  await withEvents(events, async () => {
    // Graceful restart on: the first speaker's sessions carry it with the F bit on every family.
    const first = await startSpeaker(true, false, events, writer);
    first.releaseEndOfRib();
    for (const p of first.peers()) assert.equal(p.state, 'established', p.name);
    await waitFor(
      'VIPs and default routes everywhere',
      async () => {
        sampler.stop();
        const before = sampler.samples;
        (sampler as unknown as { sample(): void }).sample();
        const gaps = [...sampler.missing.values()].filter((m) => m.since !== undefined).length;
        sampler.missing.clear();
        sampler.samples = before;
        return gaps === 0 ? true : undefined;
      },
      15_000,
      20,
    );
    sampler.missing.clear();
    sampler.samples = 0;
    sampler.start();
    const t0 = performance.now();
    first.stop('restart', { restart: true });
    await waitFor('FRR marks the VIP stale', () => frrStale().then((s) => (s ? true : undefined)), 5_000, 20);
    await waitFor(
      'BIRD marks the VIP stale',
      () => birdStale().then((s) => (s ? true : undefined)),
      5_000,
      20,
    );
    await new Promise((r) => setTimeout(r, RESTART_GAP_MS));
    const second = await startSpeaker(true, true, events, writer);
    const upMs = performance.now() - t0;
    for (const p of second.peers()) assert.equal(p.state, 'established', p.name);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    second.releaseEndOfRib();
    await waitFor(
      'FRR clears stale after our End-of-RIB',
      () => frrStale().then((s) => (s ? undefined : true)),
      10_000,
      20,
    );
    await waitFor(
      'BIRD clears stale after our End-of-RIB',
      () => birdStale().then((s) => (s ? undefined : true)),
      10_000,
      20,
    );
    await waitFor(
      'selection deferral ended on the peers End-of-RIB',
      async () =>
        events.some((e) => e.startsWith('bgp-selection-deferral-ended {"why":"end-of-rib"'))
          ? true
          : undefined,
      10_000,
      20,
    );
    await new Promise((r) => setTimeout(r, 500));
    sampler.stop();
    console.log(
      `# with graceful restart: sessions back ${upMs.toFixed(0)} ms after the stop; ${sampler.samples} samples every ${SAMPLE_MS} ms\n# ${sampler.report()}`,
    );
    for (const [what, m] of sampler.missing)
      assert.equal(m.samples, 0, `${what} was missing in ${m.samples} samples`);
    assert.ok(sampler.samples > 100, 'sampled through the restart');

    // Baseline: graceful restart off on our side; the same restart loses the VIPs at both ToRs.
    second.stop('restart', { restart: true });
    const third = await startSpeaker(false, false, events, writer);
    third.releaseEndOfRib();
    await waitFor(
      'VIPs and default routes everywhere',
      async () => (sampler.allPresent() ? true : undefined),
      15_000,
      20,
    );
    sampler.start();
    third.stop('restart', { restart: true });
    await new Promise((r) => setTimeout(r, RESTART_GAP_MS));
    const fourth = await startSpeaker(false, false, events, writer);
    fourth.releaseEndOfRib();
    await waitFor(
      'VIP back at FRR',
      async () =>
        sampler.rt.tor1.routes({ family: 4, dst: `${VIP4.addr}/32` }).length > 0 ? true : undefined,
      10_000,
      10,
    );
    await waitFor(
      'VIP back at BIRD',
      async () =>
        sampler.rt.tor2.routes({ family: 4, dst: `${VIP4.addr}/32` }).length > 0 ? true : undefined,
      10_000,
      10,
    );
    sampler.stop();
    console.log(`# without graceful restart: ${sampler.samples} samples\n# ${sampler.report()}`);
    for (const tor of ['tor1', 'tor2'])
      assert.ok((sampler.missing.get(`${tor} ${VIP4.addr}`)?.samples ?? 0) > 0, `${tor} lost the VIP`);
  });
});
