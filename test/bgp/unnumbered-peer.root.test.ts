// Finding an unnumbered peer in network namespaces (no FRR): a veth pair with only link-local
// addresses. Checked: our RA as it arrives on the other end (source = our link-local, hop limit 255,
// lifetime 0, our MAC in the SLLA option, the ICMPv6 checksum the kernel filled in accepted by the
// receiving kernel); an RA sent with hop limit 64 is discarded (RFC 4861 §6.1.2) and teaches
// nothing; a valid RA from the other end is learned with source 'router-advertisement'; a peer
// that sends no RAs is found in the neighbour table after it talks to us (a ping from it); the polls
// of the neighbour table run on a FakeClock the test moves.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { runIn, waitFor } from '../../lab/exec.js';
import { createNamespace, createVeth, linkUp, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { discoverUnnumberedPeer, type PeerSource } from '../../src/bgp/unnumbered-peer.js';
import { RouterAdvertiser } from '../../src/host/ra.js';
import { decodeRouterAdvertisement, type RouterAdvertisement } from '../../src/host/ra-codec.js';
import { type Icmp6Packet, Icmp6Socket } from '../../src/native/icmp6.js';
import { Rtnetlink } from '../../src/native/rtnl.js';
import { FakeClock } from '../helpers/fake-clock.js';

const PREFIX = uniquePrefix('unnum');
const SYSCTLS = [
  'net.ipv6.conf.all.accept_dad=0',
  'net.ipv6.conf.default.accept_dad=0',
  'net.ipv6.conf.all.accept_ra=0',
  'net.ipv6.conf.default.accept_ra=0',
];
const ICMP6_ROUTER_ADVERT = 134;
/** Long enough that the discovery looks at the neighbour table only once, at start. */
const NO_REPOLL_MS = 60_000;
const closers: (() => void)[] = [];
after(() => {
  for (const c of closers.splice(0).reverse()) c();
  removeNetnsByPrefix(PREFIX);
});

interface Pair {
  a: string;
  b: string;
  rtnlA: Rtnetlink;
  llA: string;
  llB: string;
  macA: string;
  ifindexB: number;
  macB: string;
}

function pair(tag: string): Pair {
  const a = `${PREFIX}${tag}a`;
  const b = `${PREFIX}${tag}b`;
  createNamespace(a, SYSCTLS);
  createNamespace(b, SYSCTLS);
  createVeth(a, 'eth-a', b, 'eth-b');
  linkUp(a, 'eth-a');
  linkUp(b, 'eth-b');
  const rtnlA = Rtnetlink.open({ netns: a });
  const rtnlB = Rtnetlink.open({ netns: b });
  closers.push(() => rtnlA.close());
  try {
    const linkA = rtnlA.link('eth-a');
    const linkB = rtnlB.link('eth-b');
    const ll = (r: Rtnetlink, ifindex: number): string =>
      r.addresses({ family: 6, ifindex }).find((x) => x.address.startsWith('fe80'))!.address;
    return {
      a,
      b,
      rtnlA,
      llA: ll(rtnlA, linkA.ifindex),
      llB: ll(rtnlB, linkB.ifindex),
      macA: linkA.mac!,
      ifindexB: linkB.ifindex,
      macB: linkB.mac!,
    };
  } finally {
    rtnlB.close();
  }
}

test('RAs both ways: ours as received, a low hop limit discarded, the peer learned from its RA', {
  timeout: 15_000,
}, async () => {
  const p = pair('r');
  const atB: Icmp6Packet[] = [];
  const capture = Icmp6Socket.open({
    ifindex: p.ifindexB,
    netns: p.b,
    types: [ICMP6_ROUTER_ADVERT],
    onPackets: (ps) => atB.push(...ps),
  });
  closers.push(() => capture.close());
  const events: [string, Record<string, unknown>][] = [];
  const found: [string, PeerSource][] = [];
  const d = discoverUnnumberedPeer(
    'eth-a',
    { rtnl: p.rtnlA, netns: p.a, pollMs: NO_REPOLL_MS, log: (e, f) => events.push([e, f]) },
    (address, source) => found.push([address, source]),
  );
  closers.push(() => d.stop());

  const ours = await waitFor('our RA at b', async () => atB[0], 5_000, 10);
  assert.equal(ours.from, p.llA);
  assert.equal(ours.hopLimit, 255);
  const ra = decodeRouterAdvertisement(ours.data, ours.from, ours.hopLimit) as RouterAdvertisement;
  assert.equal(ra.routerLifetime, 0);
  assert.equal(ra.sourceLinkLayer, p.macA);
  assert.equal(ours.data.length, 24);
  assert.notEqual(ours.data.readUInt16BE(2), 0); // the checksum the kernel filled in (and b's verified)

  // An RA with hop limit 64 (it could have come from off-link): discarded, nothing learned.
  const low = Icmp6Socket.open({ ifindex: p.ifindexB, netns: p.b, hopLimit: 64 });
  closers.push(() => low.close());
  low.send('ff02::1', ours.data);
  await waitFor(
    'low hop limit discarded',
    async () =>
      events.some(([e, f]) => e === 'ra-discarded' && f.reason === 'hop-limit-not-255') ? true : undefined,
    5_000,
    10,
  );
  assert.deepEqual(found, []);
  assert.equal(d.peer, undefined);

  // b advertises properly: a learns b's link-local from the RA.
  const adv = RouterAdvertiser.start({ ifindex: p.ifindexB, mac: p.macB, netns: p.b });
  closers.push(() => adv.stop());
  await waitFor('peer learned', async () => found[0], 5_000, 10);
  assert.deepEqual(found, [[p.llB, 'router-advertisement']]);
  assert.equal(d.peer, p.llB);
  assert.ok(events.some(([e, f]) => e === 'bgp-unnumbered-router-heard' && f.address === p.llB));
});

/** The neighbour-table poll interval in the test below (moved by hand). */
const POLL_MS = 100;

test('a peer that sends no RAs is found in the neighbour table once it talks to us', {
  timeout: 15_000,
}, async () => {
  const p = pair('n');
  const found: [string, PeerSource][] = [];
  const clock = new FakeClock();
  const d = discoverUnnumberedPeer(
    'eth-a',
    { rtnl: p.rtnlA, netns: p.a, pollMs: POLL_MS, clock },
    (address, source) => found.push([address, source]),
  );
  closers.push(() => d.stop());
  await clock.advance(3 * POLL_MS);
  assert.deepEqual(found, [], 'three polls found nobody');
  runIn(p.b, 'ping', ['-6', '-c', '1', '-W', '2', `${p.llA}%eth-b`]);
  // The kernel's entry may still be resolving: poll again, one poll interval per look.
  await waitFor(
    'peer found in the neighbour table',
    async () => {
      await clock.advance(POLL_MS);
      return found[0];
    },
    5_000,
    20,
  );
  assert.deepEqual(found, [[p.llB, 'neighbour-table']]);
});
