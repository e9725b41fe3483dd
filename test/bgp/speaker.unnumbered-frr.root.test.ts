// Unnumbered peering (RFC 8950) against a real FRR 8.4 with `neighbor up1 interface`: the link has
// only the kernel's link-local addresses (no IPv4, no global IPv6). Our speaker's `interface:` peer
// sends router advertisements (router lifetime 0, source link-layer option) so FRR's zebra learns
// our link-local address; we learn FRR's from its RAs (bgpd turns them on for interface peers)
// and connect actively. Run twice: FRR as configured in the issue (it connects to us, we to it;
// collision resolution keeps one), and FRR `passive`, where the session can only come up through
// our own connection to the address we learned — which FRR accepts only once it has learned ours
// (without our RAs it never does: its peer has no address).
// Checked: both ends Established (passive: on our connection to FRR's port 179); FRR's link-local
// learned (from its RA or the neighbour table, whichever first) and its RAs heard; our host
// /32 and /128 at FRR with our link-local next hop (FRR's BGP table and its kernel FIB); FRR's IPv4
// default in our kernel as an IPv4 route via inet6 <FRR link-local> (RTA_VIA), the IPv6 one via
// the same gateway; stop() removes both.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runIn, waitFor } from '../../lab/exec.js';
import { frrSessionStates, startFrr, vtyshJson } from '../../lab/frr.js';
import { addAddress, createNamespace, createVeth, linkUp } from '../../lab/netns.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import { peerSchema } from '../../src/config/schema-bgp.js';
import { SpeakerLab, withEvents } from './speaker-lab.js';

const lab = new SpeakerLab('spkuf');
const HOST_AS = 65101;
const TOR_AS = 65001;
const PROTOCOL = 213;
const HOST_IF = 'to-tor1';
const TOR_IF = 'up1';
const HOST4 = '198.51.100.11';
const HOST6 = '2001:db8:100::11';
/** No DAD: the kernel's link-local addresses are usable at once. Our side takes no RAs as a host. */
const SYSCTLS = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'];
const HOST_SYSCTLS = [...SYSCTLS, 'net.ipv6.conf.all.accept_ra=0', 'net.ipv6.conf.default.accept_ra=0'];

function bgpdConf(passive: boolean): string {
  return `hostname tor
!
router bgp ${TOR_AS}
 bgp router-id 192.0.2.101
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 bgp graceful-restart-disable
 timers bgp 1 3
 neighbor ${TOR_IF} interface remote-as external
 neighbor ${TOR_IF} description h1${passive ? `\n neighbor ${TOR_IF} passive` : ''}
 neighbor ${TOR_IF} capability extended-nexthop
 neighbor ${TOR_IF} timers connect 1
 neighbor ${TOR_IF} advertisement-interval 0
 address-family ipv4 unicast
  neighbor ${TOR_IF} activate
  neighbor ${TOR_IF} default-originate
 exit-address-family
 address-family ipv6 unicast
  neighbor ${TOR_IF} activate
  neighbor ${TOR_IF} default-originate
 exit-address-family
!
`;
}

/** The kernel's link-local address of `ifname` in `ns`. */
function linkLocal(ns: string, ifname: string): string {
  const out = JSON.parse(runIn(ns, 'ip', ['-j', '-6', 'addr', 'show', 'dev', ifname, 'scope', 'link'])) as {
    addr_info: { local: string }[];
  }[];
  const a = out[0]?.addr_info[0]?.local;
  assert.ok(a, `no link-local address on ${ifname} in ${ns}`);
  return a;
}

interface IpRoute {
  dst: string;
  protocol: string;
  via?: { family: string; host: string };
  gateway?: string;
  dev?: string;
}

function routes(ns: string, family: 4 | 6, dst: string): IpRoute[] {
  return JSON.parse(runIn(ns, 'ip', ['-j', '-N', `-${family}`, 'route', 'show', dst])) as IpRoute[];
}

interface FrrPrefixJson {
  paths?: { nexthops?: { ip?: string; afi?: string; scope?: string; used?: boolean }[] }[];
}

/** One run against FRR in two fresh namespaces named `<prefix><tag>h` / `<prefix><tag>t`. */
async function scenario(tag: string, passive: boolean): Promise<void> {
  const NS = { host: lab.ns(`${tag}h`), tor: lab.ns(`${tag}t`) };
  const t0 = Date.now();
  const events: string[] = [];
  const learned: Record<string, unknown>[] = [];
  const heard: string[] = [];
  createNamespace(NS.host, HOST_SYSCTLS);
  createNamespace(NS.tor, SYSCTLS);
  createVeth(NS.host, HOST_IF, NS.tor, TOR_IF);
  linkUp(NS.host, HOST_IF);
  linkUp(NS.tor, TOR_IF);
  // The host addresses on lo, as the agent puts them (the default routes' preferred source).
  addAddress(NS.host, 'lo', `${HOST4}/32`);
  addAddress(NS.host, 'lo', `${HOST6}/128`);
  const hostLl = linkLocal(NS.host, HOST_IF);
  const torLl = linkLocal(NS.tor, TOR_IF);
  const frr = await startFrr(lab.procs, NS.tor, join(lab.dir, `tor-${tag}`), 'tor', bgpdConf(passive));

  lab.speaker = await BgpSpeaker.startWithKernel(
    {
      node: { id: 'h1', host: { ipv4: HOST4, ipv6: HOST6 }, asn: HOST_AS, routerId: HOST4, uplinks: [] },
      peers: [
        peerSchema.parse({ interface: HOST_IF, remote_asn: TOR_AS, hold_time: '3s', connect_retry: '1s' }),
      ],
      kernelRoute: { protocol: PROTOCOL, metric: 20 },
    },
    {
      netns: NS.host,
      log: (e, f) => {
        events.push(`${Date.now() - t0} ${e} ${JSON.stringify(f)}`);
        if (e === 'bgp-unnumbered-peer-learned') learned.push(f);
        if (e === 'bgp-unnumbered-router-heard') heard.push(String(f.address));
      },
    },
  );
  const sp = lab.speaker;
  await withEvents(events, () =>
    waitFor(
      'unnumbered session Established',
      async () => (sp.peers()[0]?.state === 'established' ? true : undefined),
      20_000,
      20,
    ),
  );
  const upMs = Date.now() - t0;
  sp.releaseEndOfRib();
  // The peer is learned from whichever comes first: FRR's RA, or its entry in our neighbour table
  // (usually there already when the speaker starts). FRR's RAs must be heard in any case.
  assert.equal(learned.length, 1, JSON.stringify(learned));
  assert.equal(learned[0]!.address, torLl);
  await withEvents(events, () =>
    waitFor('RA from FRR heard', async () => (heard.includes(torLl) ? true : undefined), 15_000, 50),
  );
  assert.equal((await frrSessionStates(frr.dir)).get(TOR_IF), 'Established');
  // Who connected: a passive FRR only accepts, so the session is on our connection to its port 179.
  const conns = runIn(NS.host, 'ss', ['-Htn', 'state', 'established']);
  if (passive) assert.match(conns, new RegExp(`\\[${torLl}\\]:179\\b`), conns);

  // Our host /32 at FRR: IPv4 NLRI with our link-local address as its (IPv6) next hop, in BGP and FIB.
  const at4 = await withEvents(events, () =>
    waitFor(
      'host /32 at FRR',
      async () => {
        const j = await vtyshJson<FrrPrefixJson>(frr.dir, `show bgp ipv4 unicast ${HOST4}/32 json`);
        return j.paths?.[0]?.nexthops;
      },
      10_000,
      20,
    ),
  );
  assert.ok(
    at4.some((nh) => nh.ip === hostLl && nh.afi === 'ipv6'),
    JSON.stringify(at4),
  );
  const fib4 = await waitFor(
    'host /32 in FRR FIB',
    async () => routes(NS.tor, 4, `${HOST4}/32`)[0],
    10_000,
    20,
  );
  assert.equal(fib4.dev, TOR_IF);
  assert.deepEqual(fib4.via, { family: 'inet6', host: hostLl });
  const fib6 = await waitFor(
    'host /128 in FRR FIB',
    async () => routes(NS.tor, 6, `${HOST6}/128`)[0],
    10_000,
    20,
  );
  assert.equal(fib6.gateway, hostLl);

  // FRR's default routes in our kernel: IPv4 via inet6 <FRR link-local> (RFC 8950), IPv6 via the same.
  const v4 = await waitFor(
    'IPv4 default via FRR link-local',
    async () => routes(NS.host, 4, 'default').find((r) => r.via),
    10_000,
    20,
  );
  assert.deepEqual(v4.via, { family: 'inet6', host: torLl });
  assert.equal(v4.dev, HOST_IF);
  assert.equal(v4.protocol, String(PROTOCOL));
  const v6 = await waitFor(
    'IPv6 default',
    async () => routes(NS.host, 6, 'default').find((r) => r.protocol === String(PROTOCOL)),
    10_000,
    20,
  );
  assert.equal(v6.gateway, torLl);
  assert.equal(v6.dev, HOST_IF);

  sp.stop();
  lab.speaker = undefined;
  assert.deepEqual(routes(NS.host, 4, 'default'), []);
  assert.deepEqual(
    routes(NS.host, 6, 'default').filter((r) => r.protocol === String(PROTOCOL)),
    [],
  );
  await lab.procs.stop(frr.bgpd);
  await lab.procs.stop(frr.zebra);
  console.log(
    `# unnumbered with FRR (${tag}): Established ${upMs} ms after start; total ${Date.now() - t0} ms`,
  );
}

test(
  'unnumbered with FRR `neighbor up1 interface`: RAs both ways, IPv4 over IPv6 next hops',
  {
    timeout: 25_000,
  },
  () => scenario('a', false),
);

test(
  'unnumbered with a passive FRR interface peer: only our connection to the learned address',
  {
    timeout: 25_000,
  },
  () => scenario('p', true),
);
