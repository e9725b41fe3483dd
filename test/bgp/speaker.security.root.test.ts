// TCP MD5 (RFC 2385) and GTSM (RFC 5082) per peer, set by peer-config.ts / listener.ts through the
// native addon, against a real FRR on three links, every peer with GTSM on our side (so the listener
// itself drops low-TTL SYNs): the right key with GTSM on both sides comes up (we send TTL 255 and
// accept FRR's 255); a wrong key never gets a segment through; FRR without GTSM sends its eBGP
// packets with TTL 1, which are dropped, so that session never comes up and no message arrives.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { sleep, waitFor } from '../../lab/exec.js';
import { frrSessionStates, startFrr } from '../../lab/frr.js';
import { addAddress, createNamespace, createVeth, linkUp } from '../../lab/netns.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import { peerSchema } from '../../src/config/schema-bgp.js';
import { SpeakerLab } from './speaker-lab.js';

const lab = new SpeakerLab('spks');
const NS = { host: lab.ns('h'), tor: lab.ns('t') };
const HOST_AS = 65101;
const TOR_AS = 65001;
/** host side, ToR side of each /31 */
const LINKS = {
  ok: ['192.0.2.0', '192.0.2.1'],
  badKey: ['192.0.2.2', '192.0.2.3'],
  gtsm: ['192.0.2.4', '192.0.2.5'],
} as const;

const neighbor = (addr: string, extra: string[]) =>
  [
    ` neighbor ${addr} remote-as ${HOST_AS}`,
    ` neighbor ${addr} timers connect 1`,
    ...extra.map((e) => ` neighbor ${addr} ${e}`),
  ].join('\n');

const BGPD_CONF = `hostname tor1
router bgp ${TOR_AS}
 bgp router-id 192.0.2.101
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 timers bgp 1 3
${neighbor(LINKS.ok[0], ['password secret', 'ttl-security hops 1'])}
${neighbor(LINKS.badKey[0], ['password secret', 'ttl-security hops 1'])}
${neighbor(LINKS.gtsm[0], [])}
 address-family ipv4 unicast
  neighbor ${LINKS.ok[0]} activate
  neighbor ${LINKS.badKey[0]} activate
  neighbor ${LINKS.gtsm[0]} activate
 exit-address-family
!
`;

test('MD5 and GTSM against FRR: right key + GTSM up, wrong key and TTL-1 packets refused', {
  timeout: 40_000,
}, async () => {
  createNamespace(NS.host);
  createNamespace(NS.tor);
  let i = 0;
  for (const [h, t] of Object.values(LINKS)) {
    createVeth(NS.host, `l${i}`, NS.tor, `l${i}`);
    addAddress(NS.host, `l${i}`, `${h}/31`);
    addAddress(NS.tor, `l${i}`, `${t}/31`);
    linkUp(NS.host, `l${i}`);
    linkUp(NS.tor, `l${i}`);
    i++;
  }
  const dir = join(lab.dir, 'tor1');
  await startFrr(lab.procs, NS.tor, dir, 'tor1', BGPD_CONF);
  const peer = (name: string, address: string, extra: Record<string, unknown>) =>
    peerSchema.parse({ name, address, remote_asn: TOR_AS, hold_time: '9s', connect_retry: '1s', ...extra });
  lab.speaker = await BgpSpeaker.start(
    {
      node: {
        id: 'h1',
        host: { ipv4: '198.51.100.11', ipv6: null },
        asn: HOST_AS,
        routerId: '198.51.100.11',
        uplinks: [],
      },
      peers: [
        peer('ok', LINKS.ok[1], { password: 'secret', ttl_security: true }),
        peer('bad-key', LINKS.badKey[1], { password: 'wrong', ttl_security: true }),
        peer('gtsm', LINKS.gtsm[1], { ttl_security: true }),
      ],
    },
    { netns: NS.host, retryBaseMs: 200, retryMaxMs: 1000 },
  );
  const sp = lab.speaker;
  const state = (name: string) => sp.peers().find((p) => p.name === name)?.state;
  const t0 = Date.now();
  await waitFor(
    'MD5 + GTSM session Established',
    async () => (state('ok') === 'established' ? true : undefined),
    15_000,
    20,
  );
  const upMs = Date.now() - t0;
  await sleep(3000); // several connect retries on both sides
  assert.notEqual(state('bad-key'), 'established');
  assert.notEqual(state('gtsm'), 'established');
  const frr = await frrSessionStates(dir);
  assert.equal(frr.get(LINKS.ok[0]), 'Established');
  assert.notEqual(frr.get(LINKS.badKey[0]), 'Established');
  assert.notEqual(frr.get(LINKS.gtsm[0]), 'Established');
  // No OPEN ever arrived on the refused sessions.
  for (const name of ['bad-key', 'gtsm'])
    assert.equal(sp.peers().find((p) => p.name === name)?.messagesIn, 0, name);
  console.log(`# security: MD5+GTSM session up in ${upMs} ms`);
});
