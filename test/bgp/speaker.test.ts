// The speaker against scripted peers over loopback (real TCP through the native addon's sockets):
// initial table and End-of-RIB held until releaseEndOfRib(); identical re-advertisement sends
// nothing; flushed(); route refresh answered with the Adj-RIB-Out; import policy and the default
// route handed to the kernel sink; max-prefix warn / withdraw (recounted through ROUTE-REFRESH) /
// reset (Cease 6/1 with AFI, SAFI, limit); the default limit against a peer leaking 10,000 prefixes
// (at most 16 kept, the session up, heap figures printed); graceful-restart
// helper (stale routes kept over a drop, swept at End-of-RIB or when the restart time runs out);
// applyPeers() restarts only peers whose session settings changed; the listener answers a configured
// peer on the address facing it and refuses (and logs once) an unknown one.
// The speaker's own timers (max-prefix recount, graceful-restart stale time, reconnects) run on a
// FakeClock the tests move; what comes over the sockets is waited for with a bounded poll.

import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, test } from 'node:test';
import type { Capability } from '../../src/bgp/codec/capabilities.js';
import { Afi } from '../../src/bgp/codec/constants.js';
import type { Prefix } from '../../src/bgp/codec/prefix.js';
import { encodeRouteRefresh } from '../../src/bgp/codec/route-refresh.js';
import { encodeEndOfRib, encodeUpdate, endOfRib } from '../../src/bgp/codec/update.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import { MAX_PREFIX_RECOUNT_MS } from '../../src/bgp/speaker-peer.js';
import { peerSchema } from '../../src/config/schema-bgp.js';
import type { PeerConfig } from '../../src/config/types.js';
import type { DefaultNexthop, DefaultRouteSink } from '../../src/host/default-route.js';
import type { IpFamily } from '../../src/netlink/ip.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { waitFor, within } from '../helpers/wait-for.js';
import { ScriptedPeer } from './scripted-peer.js';

const CTX = { as4: true, ebgp: true };
/** Bound on a flushed() that should answer at once (it hangs if it waits for the fake clock). */
const FLUSH_HANG_MS = 2000;
/** Connect-retry backoff ceiling in these tests: one step of the clock lets any reconnect start. */
const RETRY_MAX_MS = 200;
const HOST_AS = 65101;
const NODE = {
  id: 'h1',
  host: { ipv4: '198.51.100.11', ipv6: null },
  asn: HOST_AS,
  routerId: '198.51.100.11',
  uplinks: [],
};
const VIP: Prefix = { afi: Afi.IPV4, addr: '203.0.113.10', len: 32 };
const DEFAULT4: Prefix = { afi: Afi.IPV4, addr: '0.0.0.0', len: 0 };
const OTHERS: Prefix[] = [
  { afi: Afi.IPV4, addr: '10.0.0.0', len: 8 },
  { afi: Afi.IPV4, addr: '10.1.0.0', len: 16 },
];
const TOR_ATTRS = (nh: string) => ({
  origin: 0 as const,
  asPath: [{ type: 'sequence' as const, asns: [65001] }],
  nextHop: nh,
});

class Recorder implements DefaultRouteSink {
  readonly hops: Record<IpFamily, DefaultNexthop[]> = { 4: [], 6: [] };
  update(family: IpFamily, nexthops: readonly DefaultNexthop[]): void {
    this.hops[family] = [...nexthops];
  }
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function peerConfig(address: string, extra: Record<string, unknown> = {}): PeerConfig {
  return peerSchema.parse({ address, remote_asn: 65001, hold_time: '9s', connect_retry: '1s', ...extra });
}

async function setup(extra: Record<string, unknown> = {}, caps?: Capability[]) {
  const tor = await ScriptedPeer.listen({
    host: '127.0.0.21',
    asn: 65001,
    id: '192.0.2.101',
    capabilities: caps,
  });
  const sink = new Recorder();
  const clock = new FakeClock();
  const speaker = await BgpSpeaker.start(
    { node: NODE, peers: [peerConfig('127.0.0.21', extra)] },
    {
      listen: false,
      port: tor.port,
      retryBaseMs: 50,
      retryMaxMs: RETRY_MAX_MS,
      defaultRoutes: sink,
      clock,
    },
  );
  cleanups.push(() => {
    speaker.stop();
    tor.close();
  });
  await waitFor(() => speaker.peers()[0]!.state === 'established', { timeoutMs: 5000, what: 'Established' });
  return { tor, speaker, sink, clock };
}

/** Polls `cond` on the sockets, moving the speaker's clock a backoff step between looks (for reconnects). */
const advancingUntil = (clock: FakeClock, cond: () => boolean, what: string) =>
  waitFor(
    async () => {
      if (cond()) return true;
      await clock.advance(RETRY_MAX_MS);
      return false;
    },
    { what },
  );

const nlriOf = (tor: ScriptedPeer) => tor.updates().flatMap((u) => u.nlri.map((p) => `${p.addr}/${p.len}`));

test('initial table, End-of-RIB held until released, identical re-advertisement sends nothing', async () => {
  const { tor, speaker } = await setup();
  await waitFor(() => tor.updates().length === 1, { timeoutMs: 2000, what: 'initial UPDATE' });
  assert.deepEqual(nlriOf(tor), ['198.51.100.11/32']);
  const first = tor.updates()[0]!;
  assert.deepEqual(first.attributes.asPath, [{ type: 'sequence', asns: [HOST_AS] }]);
  // NEXT_HOP = the session's local address (the codec treats a loopback next hop as invalid on receipt,
  // so look at the bytes): flags 0x40, type 3, length 4, 127.0.0.1.
  assert.ok(tor.raw[2]!.includes(Buffer.from('4003047f000001', 'hex')));
  assert.deepEqual(
    first.outcomes.map((o) => o.reason),
    ['next-hop-invalid'],
  );
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(tor.updates().length, 1, 'no End-of-RIB before release');
  speaker.releaseEndOfRib();
  await waitFor(() => tor.updates().length === 2);
  assert.deepEqual(endOfRib(tor.updates()[1]!), { afi: 1, safi: 1 });

  speaker.advertise(VIP);
  assert.equal(await speaker.flushed(1000), true);
  await waitFor(() => tor.updates().length === 3);
  assert.deepEqual(tor.updates()[2]!.nlri, [VIP]);
  speaker.advertise(VIP);
  speaker.advertise(VIP, { prepend: 0 });
  assert.equal(await speaker.flushed(1000), true);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(tor.updates().length, 3, 'identical re-advertisement sent nothing');
  assert.equal(speaker.peers()[0]!.updatesOut, 3);
  assert.equal(speaker.peers()[0]!.prefixesAdvertised, 2);
  // the host address cannot be withdrawn; a VIP can
  speaker.withdraw({ afi: Afi.IPV4, addr: '198.51.100.11', len: 32 });
  speaker.withdraw(VIP);
  assert.equal(await speaker.flushed(1000), true);
  await waitFor(() => tor.updates().length === 4);
  assert.deepEqual(tor.updates()[3]!.withdrawn, [VIP]);
  assert.equal(tor.updates().length, 4);
});

test('a ROUTE-REFRESH is answered with the whole Adj-RIB-Out', async () => {
  const { tor, speaker } = await setup();
  speaker.advertise(VIP, { med: 7 });
  await waitFor(() => nlriOf(tor).length === 2);
  const before = tor.updates().length;
  tor.send(encodeRouteRefresh({ afi: 1, safi: 1 }));
  await waitFor(() => tor.updates().length >= before + 2, { what: 'both routes resent' });
  const resent = tor.updates().slice(before);
  assert.deepEqual(resent.flatMap((u) => u.nlri.map((p) => p.addr)).sort(), [
    '198.51.100.11',
    '203.0.113.10',
  ]);
  assert.equal(resent.find((u) => u.nlri.some((p) => p.addr === '203.0.113.10'))?.attributes.med, 7);
  assert.equal(speaker.peers()[0]!.routeRefreshIn, 1);
});

test('import: only the default route is accepted; it becomes the kernel next hop and leaves with the peer', async () => {
  const { tor, speaker, sink } = await setup();
  tor.send(encodeUpdate({ attributes: TOR_ATTRS('192.0.2.1'), nlri: [DEFAULT4, ...OTHERS] }, CTX));
  await waitFor(() => sink.hops[4].length === 1);
  assert.deepEqual(sink.hops[4], [{ gateway: '192.0.2.1' }]);
  const s = speaker.peers()[0]!;
  assert.equal(s.prefixesReceived, 3);
  assert.equal(s.prefixesAccepted, 1);
  const received = speaker.received();
  assert.deepEqual(
    received.map((r) => [r.peer, r.prefix, r.nextHop, r.stale, r.used]),
    [[s.name, '0.0.0.0/0', '192.0.2.1', false, true]],
    'the Adj-RIB-In keeps the accepted default only',
  );
  tor.send(encodeUpdate({ withdrawn: [DEFAULT4] }, CTX));
  await waitFor(() => sink.hops[4].length === 0);
  tor.send(encodeUpdate({ attributes: TOR_ATTRS('192.0.2.9'), nlri: [DEFAULT4] }, CTX));
  await waitFor(() => sink.hops[4][0]?.gateway === '192.0.2.9');
  speaker.stop();
  assert.deepEqual(sink.hops[4], []);
});

test('max-prefix reset: Cease / Maximum Number of Prefixes Reached, routes gone', async () => {
  const { tor, speaker, sink } = await setup({ max_prefix: { limit: 2, action: 'reset' } });
  tor.send(encodeUpdate({ attributes: TOR_ATTRS('192.0.2.1'), nlri: [DEFAULT4] }, CTX));
  await waitFor(() => sink.hops[4].length === 1);
  tor.send(encodeUpdate({ attributes: TOR_ATTRS('192.0.2.1'), nlri: OTHERS }, CTX));
  await waitFor(() => tor.notifications().length === 1);
  const n = tor.notifications()[0]!;
  assert.deepEqual([n.code, n.subcode], [6, 1]);
  // RFC 4486 §4: AFI 1, SAFI 1, the limit 2.
  assert.equal(n.data.toString('hex'), '0001' + '01' + '00000002');
  assert.deepEqual(sink.hops[4], []);
  assert.equal(speaker.peers()[0]!.maxPrefixExceeded, 1);
  assert.equal(speaker.peers()[0]!.lastNotificationOut, '6/1');
});

const refreshes = (tor: ScriptedPeer) => tor.received.filter((m) => m.type === 'route-refresh').length;

test("max-prefix withdraw: over the limit the peer's routes are not used, the session stays up; recounted by ROUTE-REFRESH", async () => {
  const { tor, speaker, sink, clock } = await setup({ max_prefix: { limit: 2, action: 'withdraw' } });
  const leak = () =>
    tor.send(encodeUpdate({ attributes: TOR_ATTRS('192.0.2.1'), nlri: [DEFAULT4, ...OTHERS] }, CTX));
  const announced = (n: number) =>
    waitFor(() => speaker.peers()[0]!.announcementsReceived === n, { what: `${n} announcements` });
  leak();
  await waitFor(() => speaker.peers()[0]!.overMaxPrefix);
  assert.deepEqual(sink.hops[4], []);
  assert.equal(speaker.peers()[0]!.state, 'established');
  assert.equal(speaker.peers()[0]!.prefixesReceived, 2, 'the third prefix was not stored');
  // Nothing asked before a recount interval has passed.
  await clock.advance(MAX_PREFIX_RECOUNT_MS - 1);
  assert.equal(speaker.peers()[0]!.sentByType['route-refresh'], 0);
  // Still leaking when asked again: stays over.
  await clock.advance(1);
  await waitFor(() => refreshes(tor) === 1, { what: 'first ROUTE-REFRESH' });
  leak();
  await announced(6);
  await clock.advance(MAX_PREFIX_RECOUNT_MS);
  await waitFor(() => refreshes(tor) === 2, { what: 'second ROUTE-REFRESH' });
  assert.equal(speaker.peers()[0]!.overMaxPrefix, true);
  assert.deepEqual(sink.hops[4], []);
  // Fixed: the leaked routes withdrawn, the table resent within the limit → used again after a whole
  // recount interval within it.
  tor.send(encodeUpdate({ withdrawn: OTHERS }, CTX));
  tor.send(encodeUpdate({ attributes: TOR_ATTRS('192.0.2.1'), nlri: [DEFAULT4] }, CTX));
  await announced(7);
  assert.deepEqual(sink.hops[4], [], 'still over until the interval ends');
  await clock.advance(MAX_PREFIX_RECOUNT_MS);
  assert.deepEqual(sink.hops[4], [{ gateway: '192.0.2.1' }], 'default used again');
  assert.equal(speaker.peers()[0]!.overMaxPrefix, false);
  assert.equal(speaker.peers()[0]!.maxPrefixExceeded, 1);
  assert.equal(speaker.peers()[0]!.state, 'established');
  assert.equal(tor.notifications().length, 0);
});

test('default max-prefix: a peer leaking 10,000 prefixes leaves at most 16 in memory, its routes unused, the session up', async () => {
  const { tor, speaker, sink, clock } = await setup();
  tor.send(encodeUpdate({ attributes: TOR_ATTRS('192.0.2.1'), nlri: [DEFAULT4] }, CTX));
  await waitFor(() => sink.hops[4].length === 1);
  const leak = Array.from(
    { length: 10_000 },
    (_, i): Prefix => ({
      afi: Afi.IPV4,
      addr: `10.${i >> 8}.${i & 0xff}.0`,
      len: 24,
    }),
  );
  const heap0 = process.memoryUsage().heapUsed;
  const PER_UPDATE = 500;
  const sendLeak = (): void => {
    for (let i = 0; i < leak.length; i += PER_UPDATE)
      tor.send(
        encodeUpdate({ attributes: TOR_ATTRS('192.0.2.1'), nlri: leak.slice(i, i + PER_UPDATE) }, CTX),
      );
  };
  sendLeak();
  await waitFor(() => speaker.peers()[0]!.announcementsReceived === 1 + leak.length, {
    timeoutMs: 10_000,
    what: 'all received',
  });
  const p = speaker.peers()[0]!;
  assert.equal(p.overMaxPrefix, true);
  assert.equal(p.maxPrefixExceeded, 1);
  assert.ok(p.prefixesReceived <= 16, `kept ${p.prefixesReceived}`);
  assert.deepEqual(sink.hops[4], [], 'the leaking peer left the default route');
  assert.deepEqual(
    speaker.received().map((r) => [r.prefix, r.used]),
    [['0.0.0.0/0', false]],
  );
  assert.equal(p.state, 'established');
  assert.equal(tor.notifications().length, 0);
  // Asked again (a recount interval later), it leaks again: still over, still bounded.
  await clock.advance(MAX_PREFIX_RECOUNT_MS);
  await waitFor(() => refreshes(tor) >= 1, { what: 'ROUTE-REFRESH' });
  sendLeak();
  await waitFor(() => speaker.peers()[0]!.announcementsReceived === 1 + 2 * leak.length, {
    timeoutMs: 10_000,
  });
  assert.ok(speaker.peers()[0]!.prefixesReceived <= 16);
  assert.equal(speaker.peers()[0]!.overMaxPrefix, true);
  const heap1 = process.memoryUsage().heapUsed;
  console.log(
    `# max-prefix: 20,000 leaked announcements, ${speaker.peers()[0]!.prefixesReceived} prefixes kept; ` +
      `heap ${(heap0 / 1e6).toFixed(1)} → ${(heap1 / 1e6).toFixed(1)} MB`,
  );
});

test('max-prefix warn: counted, routes still used', async () => {
  const { tor, speaker, sink } = await setup({ max_prefix: { limit: 1, action: 'warn' } });
  tor.send(encodeUpdate({ attributes: TOR_ATTRS('192.0.2.1'), nlri: [DEFAULT4, ...OTHERS] }, CTX));
  await waitFor(() => sink.hops[4].length === 1);
  assert.equal(speaker.peers()[0]!.maxPrefixExceeded, 1);
  assert.equal(tor.notifications().length, 0);
});

const GR_CAPS = (time: number) => [
  { kind: 'multiprotocol' as const, afi: 1, safi: 1 },
  {
    kind: 'graceful-restart' as const,
    restarting: false,
    notification: false,
    time,
    families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
  },
];

test('graceful restart helper: routes kept stale over a drop, swept by the End-of-RIB of the new session', async () => {
  const { tor, speaker, sink, clock } = await setup({}, GR_CAPS(30));
  tor.send(encodeUpdate({ attributes: TOR_ATTRS('192.0.2.1'), nlri: [DEFAULT4, ...OTHERS] }, CTX));
  await waitFor(() => sink.hops[4].length === 1);
  tor.drop();
  await waitFor(() => speaker.peers()[0]!.state !== 'established');
  assert.deepEqual(sink.hops[4], [{ gateway: '192.0.2.1' }], 'still forwarding on the stale route');
  assert.equal(speaker.peers()[0]!.staleRoutes, 1);
  assert.equal(speaker.peers()[0]!.flaps, 1, 'leaving Established is a flap');
  assert.equal(speaker.received()[0]?.stale, true);
  await advancingUntil(
    clock,
    () => speaker.peers()[0]!.state === 'established' && tor.connections === 2,
    'reconnected',
  );
  const p = speaker.peers()[0]!;
  assert.deepEqual(
    [p.flaps, p.sentByType.open, p.receivedByType.open],
    [1, 2, 2],
    'one OPEN per session each way',
  );
  assert.deepEqual(sink.hops[4], [{ gateway: '192.0.2.1' }]);
  tor.send(encodeEndOfRib(1, 1, CTX));
  await waitFor(() => sink.hops[4].length === 0);
  assert.equal(speaker.peers()[0]!.staleRoutes, 0);
});

test('graceful restart helper: stale routes go when the restart time runs out', async () => {
  const { tor, speaker, sink, clock } = await setup({}, GR_CAPS(1));
  tor.send(encodeUpdate({ attributes: TOR_ATTRS('192.0.2.1'), nlri: [DEFAULT4] }, CTX));
  await waitFor(() => sink.hops[4].length === 1);
  tor.close(); // gone for good
  await waitFor(() => speaker.peers()[0]!.state !== 'established');
  assert.equal(sink.hops[4].length, 1);
  await clock.advance(999);
  assert.equal(sink.hops[4].length, 1, 'kept for the restart time (1 s)');
  await clock.advance(1);
  assert.equal(sink.hops[4].length, 0, 'stale route swept when it runs out');
});

test('a peer that ends with a NOTIFICATION gets no graceful restart', async () => {
  const { tor, sink, speaker } = await setup({}, GR_CAPS(30));
  tor.send(encodeUpdate({ attributes: TOR_ATTRS('192.0.2.1'), nlri: [DEFAULT4] }, CTX));
  await waitFor(() => sink.hops[4].length === 1);
  tor.send(Buffer.from(`${'ff'.repeat(16)}001503 0602`.replace(' ', ''), 'hex')); // Cease / admin shutdown
  await waitFor(() => sink.hops[4].length === 0);
  assert.equal(speaker.peers()[0]!.lastNotificationIn, '6/2');
});

test('applyPeers: a policy change keeps the session, a hold-time change restarts it, removal sends Cease', async () => {
  const { tor, speaker } = await setup();
  const cfg = peerConfig('127.0.0.21');
  speaker.applyPeers([{ ...cfg, importAccept: [], exportCommunities: ['65000:1'] }]);
  await waitFor(() => tor.updates().some((u) => u.attributes.communities?.includes(0xfde80001)), {
    timeoutMs: 2000,
    what: 'resent with community',
  });
  assert.equal(speaker.peers()[0]!.state, 'established');
  assert.equal(tor.connections, 1);
  assert.equal(tor.notifications().length, 0);
  speaker.applyPeers([{ ...cfg, holdTimeMs: 30_000 }]);
  await waitFor(() => tor.connections === 2 && speaker.peers()[0]!.state === 'established', {
    timeoutMs: 5000,
    what: 'restarted',
  });
  speaker.applyPeers([]);
  await waitFor(() => tor.notifications().length === 1);
  assert.equal(tor.notifications()[0]!.code, 6);
  assert.deepEqual(speaker.peers(), []);
});

test('flushed(): a peer that is not Established counts as told', async () => {
  const clock = new FakeClock();
  const speaker = await BgpSpeaker.start(
    { node: NODE, peers: [peerConfig('127.0.0.29')] },
    { listen: false, port: 9, retryBaseMs: 1000, retryMaxMs: 1000, clock },
  );
  cleanups.push(() => speaker.stop());
  speaker.advertise(VIP);
  // at once, on the clock: no wait for the 500 ms bound (the clock does not move; waiting would hang,
  // and `within` fails that)
  assert.equal(await within(speaker.flushed(500), FLUSH_HANG_MS, 'flushed()'), true);
  assert.equal(clock.now(), 0, 'no time passed');
  assert.notEqual(speaker.peers()[0]!.state, 'established');
});

test('a route whose AS_PATH holds our own AS is not accepted (loop)', async () => {
  const { tor, speaker, sink } = await setup();
  const looped = {
    origin: 0 as const,
    asPath: [{ type: 'sequence' as const, asns: [65001, HOST_AS] }],
    nextHop: '192.0.2.1',
  };
  tor.send(encodeUpdate({ attributes: looped, nlri: [DEFAULT4] }, CTX));
  await waitFor(() => speaker.peers()[0]!.prefixesReceived === 1);
  assert.equal(speaker.peers()[0]!.prefixesAccepted, 0);
  assert.deepEqual(sink.hops[4], []);
});

test('listener: on the address facing the peer only; a configured passive peer gets an OPEN, an unknown address is refused', async () => {
  const refused: string[] = [];
  const speaker = await BgpSpeaker.start(
    { node: NODE, peers: [peerConfig('127.0.0.31', { passive: true })] },
    { port: 0, log: (e, f) => e === 'bgp-connection-refused' && refused.push(String(f.address)) },
  );
  cleanups.push(() => speaker.stop());
  const port = speaker.listenPort!;
  // 127.0.0.31 is in lo's 127.0.0.1/8: that address, nothing else.
  assert.deepEqual(speaker.listening(), [{ family: 4, address: '127.0.0.1', scopeId: 0 }]);
  const other = await new Promise<string>((resolve) => {
    const s = net.connect({ host: '127.0.0.2', port });
    s.on('connect', () => resolve('connected'));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  assert.equal(other, 'ECONNREFUSED', 'nothing listens on another local address');
  const dial = (from: string) =>
    new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
      s.on('data', (d) => {
        chunks.push(d);
        if (Buffer.concat(chunks).length >= 29) s.destroy(); // an OPEN's minimum length
      });
      s.on('error', () => {});
      s.on('close', () => resolve(Buffer.concat(chunks)));
    });
  const unknown = await dial('127.0.0.32');
  assert.equal(unknown.length, 0);
  assert.deepEqual(refused, ['127.0.0.32']);
  const known = await dial('127.0.0.31');
  assert.equal(known[18], 1, 'an OPEN (message type 1) from the speaker');
  await waitFor(() => speaker.peers()[0]!.messagesOut >= 1);
});
