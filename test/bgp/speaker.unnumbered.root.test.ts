// Unnumbered peering (RFC 8950) against a real BIRD: the speaker's peer is only an interface; BIRD
// connects to our link-local address on that link (`neighbor fe80::1%'to-host'`), the listener
// recognises the connection by the interface it came in on (our link-local address there), extended
// next hop is negotiated, our host /32 reaches BIRD in MP_REACH_NLRI with our link-local next hop,
// and BIRD's IPv4 default route lands in the host kernel as an IPv4 route via inet6 fe80::2
// (RTA_VIA) with the configured protocol and the host address (on lo) as preferred source;
// startWithKernel()'s speaker removes it on shutdown.
// (FRR 8.4 with an explicit link-local neighbor stays in "Waiting for NHT": its known NHT problem
// with `neighbor <LL> interface <if>`; FRR's `neighbor <if> interface` learns our address from
// the router advertisements the speaker sends: speaker.unnumbered-frr.root.test.ts.)

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { birdc, startBird } from '../../lab/bird.js';
import { runIn, waitFor } from '../../lab/exec.js';
import { addAddress, createNamespace, createVeth, linkUp } from '../../lab/netns.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import { peerSchema } from '../../src/config/schema-bgp.js';
import { SpeakerLab, withEvents } from './speaker-lab.js';

const lab = new SpeakerLab('spku');
const NS = { host: lab.ns('h'), tor: lab.ns('t') };
const HOST_AS = 65101;
const TOR_AS = 65001;
const PROTOCOL = 212;
const HOST_LL = 'fe80::1';
const TOR_LL = 'fe80::2';

/** BIRD as the ToR: connects to our link-local address on its interface, IPv4 with IPv6 next hops. */
function birdConf(logFile: string): string {
  return `log "${logFile}" all;
router id 192.0.2.101;
protocol device { scan time 10; }
protocol static own4 { ipv4; route 0.0.0.0/0 blackhole; }
protocol static own6 { ipv6; route ::/0 blackhole; }
protocol bgp h1 {
  local as ${TOR_AS};
  neighbor ${HOST_LL}%'to-host' as ${HOST_AS};
  direct;
  hold time 9;
  keepalive time 3;
  connect retry time 1;
  connect delay time 0;
  graceful restart off;
  ipv4 { import all; export where net = 0.0.0.0/0; extended next hop on; };
  ipv6 { import all; export where net = ::/0; };
}
`;
}

interface IpRoute {
  protocol: string;
  prefsrc?: string;
  via?: { family: string; host: string };
  gateway?: string;
  dev?: string;
}

function defaults(family: 4 | 6): IpRoute[] {
  return JSON.parse(
    runIn(NS.host, 'ip', ['-j', '-N', `-${family}`, 'route', 'show', 'default']),
  ) as IpRoute[];
}

test('unnumbered with BIRD: passive interface peer, extended next hop, IPv4 default via IPv6 link-local', {
  timeout: 40_000,
}, async () => {
  const t0 = Date.now();
  const events: string[] = [];
  const noRa = ['net.ipv6.conf.all.accept_ra=0', 'net.ipv6.conf.default.accept_ra=0'];
  createNamespace(NS.host, noRa);
  createNamespace(NS.tor, noRa);
  createVeth(NS.host, 'to-tor1', NS.tor, 'to-host');
  addAddress(NS.host, 'to-tor1', `${HOST_LL}/64`);
  addAddress(NS.tor, 'to-host', `${TOR_LL}/64`);
  linkUp(NS.host, 'to-tor1');
  linkUp(NS.tor, 'to-host');
  // The host addresses on lo, as the agent puts them: the default routes' preferred source.
  addAddress(NS.host, 'lo', '198.51.100.11/32');
  addAddress(NS.host, 'lo', '2001:db8:100::11/128');
  const bird = await startBird(
    lab.procs,
    NS.tor,
    join(lab.dir, 'tor'),
    'tor',
    birdConf(join(lab.dir, 'tor', 'bird.log')),
  );

  lab.speaker = await BgpSpeaker.startWithKernel(
    {
      node: {
        id: 'h1',
        host: { ipv4: '198.51.100.11', ipv6: '2001:db8:100::11' },
        asn: HOST_AS,
        routerId: '198.51.100.11',
        uplinks: [],
      },
      peers: [
        peerSchema.parse({ interface: 'to-tor1', remote_asn: TOR_AS, hold_time: '9s', connect_retry: '1s' }),
      ],
      kernelRoute: { protocol: PROTOCOL, metric: 20 },
    },
    { netns: NS.host, log: (e, f) => events.push(`${Date.now() - t0} ${e} ${JSON.stringify(f)}`) },
  );
  const sp = lab.speaker;
  await waitFor(
    'unnumbered session Established',
    async () => (sp.peers()[0]?.state === 'established' ? true : undefined),
    20_000,
    20,
  );
  const upMs = Date.now() - t0;
  sp.releaseEndOfRib();

  const v4 = await withEvents(events, () =>
    waitFor(
      'IPv4 default via fe80::2 in the kernel',
      async () => {
        const r = defaults(4);
        return r.length === 1 && r[0]!.via ? r[0]! : undefined;
      },
      10_000,
      20,
    ),
  );
  assert.deepEqual(v4.via, { family: 'inet6', host: TOR_LL });
  assert.equal(v4.dev, 'to-tor1');
  assert.equal(v4.protocol, String(PROTOCOL));
  assert.equal(v4.prefsrc, '198.51.100.11');
  const v6 = await waitFor('IPv6 default', async () => defaults(6)[0], 10_000, 20);
  assert.equal(v6.gateway, TOR_LL);
  assert.equal(v6.dev, 'to-tor1');
  assert.equal(v6.prefsrc, '2001:db8:100::11');

  const at4 = await waitFor(
    'host /32 at BIRD',
    async () => {
      const out = await birdc(bird.ctl, 'show route 198.51.100.11/32 all');
      return out.includes('198.51.100.11/32') ? out : undefined;
    },
    10_000,
    20,
  );
  // The IPv4 route's next hop is our link-local address (RFC 8950 extended next hop); BIRD shows a
  // 16-octet link-local next hop as an empty global part plus the link-local one.
  assert.match(at4, /via fe80::1 on to-host/);
  assert.match(at4, /BGP\.next_hop: (:: )?fe80::1\n/);
  await waitFor(
    'host /128 at BIRD',
    async () => {
      const out = await birdc(bird.ctl, 'show route 2001:db8:100::11/128');
      return out.includes('2001:db8:100::11/128') ? true : undefined;
    },
    10_000,
    20,
  );

  sp.stop();
  lab.speaker = undefined;
  assert.deepEqual(defaults(4), []);
  assert.deepEqual(defaults(6), []);
  console.log(`# unnumbered: Established ${upMs} ms after start; total ${Date.now() - t0} ms`);
});
