// Where the speaker listens, in network namespaces with the real kernel: a host (VIPs and the host
// address on lo, like an agent's) and a ToR namespace connecting to it on 179. Asserts: the listeners
// are exactly the local addresses facing the configured peers (the address in the link prefix that
// holds each peer, and a configured `local_address` bound with IP_FREEBIND before the host has it) —
// no wildcard, no VIP, no host address; a connection to a VIP or to the host address on 179 is refused
// by the kernel (nothing listens there: on the wildcard listener it was accepted and got an OPEN);
// the configured peer on its facing address gets an OPEN; 2,000 connects from an unconfigured
// address are all reset before a byte is read, counted (anycastd_bgp_connections_refused_total),
// logged in at most 2 lines, and leave this process's fd count where it was; an address and a link
// that appear later get their listener; a reload that removes a peer closes its listener and one
// that adds it back opens it again.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type net from 'node:net';
import { before, test } from 'node:test';
import { runIn, waitFor } from '../../lab/exec.js';
import { addAddress, createNamespace, createVeth, linkUp } from '../../lab/netns.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import { peerSchema } from '../../src/config/schema-bgp.js';
import type { PeerConfig } from '../../src/config/types.js';
import { AnycastdMetrics } from '../../src/metrics/metrics.js';
import { connectTcp } from '../../src/native/tcp.js';
import type { IpFamily } from '../../src/netlink/ip.js';
import { SpeakerLab } from './speaker-lab.js';

const lab = new SpeakerLab('bgpl');
const NS = { host: lab.ns('h'), tor: lab.ns('t') };
const BGP = 179;
const HOST_AS = 65101;
const TOR_AS = 65001;
const HOST4 = '198.51.100.11';
const HOST6 = '2001:db8:100::11';
const VIP4 = '203.0.113.10';
const VIP6 = '2001:db8:ffff::10';
/** An address on the ToR side that no peer is configured with. */
const STRANGER = '198.51.100.200';
/** Host side, ToR side of the first link; the second link (l2) comes later. */
const L1 = { h4: '192.0.2.0', t4: '192.0.2.1', h6: '2001:db8:1::', t6: '2001:db8:1::1' };
const L2 = { h: '192.0.2.4', t: '192.0.2.5', hFixed: '192.0.2.6', tFixed: '192.0.2.7' };
const FLOOD = 2_000;
const FLOOD_PARALLEL = 50;
/** BGP header (19) + the smallest OPEN body (10). */
const OPEN_MIN_LEN = 29;
const OPEN_TYPE_OFFSET = 18;

const events: { event: string; fields: Record<string, unknown> }[] = [];
const peer = (name: string, address: string, extra: Record<string, unknown> = {}): PeerConfig =>
  peerSchema.parse({
    name,
    address,
    remote_asn: TOR_AS,
    passive: true,
    hold_time: '9s',
    connect_retry: '1s',
    ...extra,
  });
const PEERS = [
  peer('tor_4', L1.t4),
  peer('tor_6', L1.t6),
  peer('late', L2.t),
  peer('fixed', L2.tFixed, { local_address: L2.hFixed }),
];

type Outcome = 'open' | 'closed' | string;

/**
 * Connect from the ToR namespace: 'open' if the speaker sends an OPEN, 'closed' if it closes or resets
 * the connection first, else the errno of the connect ('ECONNREFUSED': nothing listens there).
 */
async function dial(
  from: string,
  to: string,
  family: IpFamily = from.includes(':') ? 6 : 4,
): Promise<Outcome> {
  let socket: net.Socket;
  try {
    socket = await connectTcp({
      family,
      netns: NS.tor,
      address: to,
      port: BGP,
      localAddress: from,
      timeoutMs: 3000,
    });
  } catch (err) {
    const code = (err as { code?: string }).code ?? String(err);
    return code === 'ECONNRESET' ? 'closed' : code; // reset before the connect completed here
  }
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= OPEN_MIN_LEN) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(got[OPEN_TYPE_OFFSET] === 1 ? 'open' : 'closed'));
    setTimeout(() => socket.destroy(), 3000).unref();
  });
}

const fds = (): number => readdirSync('/proc/self/fd').length;
const listening = (): string[] =>
  lab
    .speaker!.listening()
    .map((a) => a.address)
    .sort();
const refusedLines = () => events.filter((e) => e.event === 'bgp-connection-refused');

before(async () => {
  createNamespace(NS.host);
  createNamespace(NS.tor);
  createVeth(NS.host, 'l1', NS.tor, 'l1');
  addAddress(NS.host, 'l1', `${L1.h4}/31`);
  addAddress(NS.host, 'l1', `${L1.h6}/127`);
  addAddress(NS.tor, 'l1', `${L1.t4}/31`);
  addAddress(NS.tor, 'l1', `${L1.t6}/127`);
  linkUp(NS.host, 'l1');
  linkUp(NS.tor, 'l1');
  // What an agent puts on lo: the host addresses and a VIP of each family.
  for (const a of [`${HOST4}/32`, `${VIP4}/32`, `${HOST6}/128`, `${VIP6}/128`]) addAddress(NS.host, 'lo', a);
  addAddress(NS.tor, 'lo', `${STRANGER}/32`);
  for (const dst of [HOST4, VIP4]) runIn(NS.tor, 'ip', ['route', 'add', dst, 'via', L1.h4]);
  for (const dst of [HOST6, VIP6]) runIn(NS.tor, 'ip', ['-6', 'route', 'add', dst, 'via', L1.h6]);
  runIn(NS.host, 'ip', ['route', 'add', STRANGER, 'via', L1.t4]);
  lab.speaker = await BgpSpeaker.start(
    {
      node: { id: 'h1', host: { ipv4: HOST4, ipv6: HOST6 }, asn: HOST_AS, routerId: HOST4, uplinks: [] },
      peers: PEERS,
    },
    {
      netns: NS.host,
      retryBaseMs: 100,
      retryMaxMs: 500,
      log: (event, fields) => events.push({ event, fields }),
    },
  );
});

test('listens only on the addresses facing the peers (and a configured local address), never a VIP or the host address', async () => {
  assert.deepEqual(listening(), [L2.hFixed, L1.h4, L1.h6].sort());
  assert.ok(
    events.some((e) => e.event === 'bgp-listen-address-unknown' && String(e.fields.peers) === 'late'),
    'the peer no connected prefix holds yet is reported',
  );
  const ss = runIn(NS.host, 'ss', ['-Hltn', 'sport', '= :179']);
  assert.doesNotMatch(ss, /\*:179|0\.0\.0\.0:179|\[::\]:179/, `no wildcard listener:\n${ss}`);
  // From the configured peer's own address: refused by the kernel, not accepted and dropped.
  assert.equal(await dial(L1.t4, VIP4), 'ECONNREFUSED');
  assert.equal(await dial(L1.t4, HOST4), 'ECONNREFUSED');
  assert.equal(await dial(L1.t6, VIP6), 'ECONNREFUSED');
  assert.equal(await dial(L1.t6, HOST6), 'ECONNREFUSED');
  assert.equal(await dial(L1.t4, L1.h4), 'open');
  assert.equal(await dial(L1.t6, L1.h6), 'open');
});

test('2,000 connects from an unconfigured address: all reset unread, counted, at most 2 log lines, fds bounded', async () => {
  const fds0 = fds();
  const refused0 = lab.speaker!.connectionsRefused;
  const lines0 = refusedLines().length;
  const outcomes = new Map<Outcome, number>();
  let peak = 0;
  let next = 0;
  const t0 = Date.now();
  const worker = async (): Promise<void> => {
    while (next < FLOOD) {
      next++;
      const o = await dial(STRANGER, L1.h4, 4);
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
      peak = Math.max(peak, fds());
    }
  };
  await Promise.all(Array.from({ length: FLOOD_PARALLEL }, worker));
  const ms = Date.now() - t0;
  assert.deepEqual([...outcomes], [['closed', FLOOD]], 'every one closed without a byte');
  await waitFor(
    'refusals counted',
    async () => (lab.speaker!.connectionsRefused - refused0 === FLOOD ? true : undefined),
    5000,
    20,
  );
  const lines = refusedLines().slice(lines0);
  assert.ok(lines.length <= 2, `${lines.length} log lines`);
  assert.equal(lines[0]?.fields.address, STRANGER);
  await waitFor('fds back', async () => (fds() <= fds0 + 2 ? true : undefined), 5000, 20);
  // Our own client sockets are in this process too: at most FLOOD_PARALLEL of them at a time.
  assert.ok(peak - fds0 <= FLOOD_PARALLEL + 10, `peak ${peak} fds, ${fds0} before`);
  assert.equal(await dial(L1.t4, L1.h4), 'open', 'the configured peer still gets an OPEN');
  // The count as Prometheus reads it.
  const refused = lab.speaker!.connectionsRefused;
  const metrics = new AnycastdMetrics(
    { bgpConnectionsRefused: () => refused },
    { version: 'test', node: 'h1' },
  );
  assert.match(await metrics.text(), new RegExp(`^anycastd_bgp_connections_refused_total ${refused}$`, 'm'));
  console.log(
    `# listener flood: ${FLOOD} connects in ${ms} ms, ${lines.length} log line(s), fds ${fds0} → peak ${peak} → ${fds()}`,
  );
});

test('an address that appears later gets its listener; a configured local address took connections as soon as it existed', async () => {
  createVeth(NS.host, 'l2', NS.tor, 'l2');
  addAddress(NS.host, 'l2', `${L2.h}/31`);
  addAddress(NS.host, 'l2', `${L2.hFixed}/31`);
  addAddress(NS.tor, 'l2', `${L2.t}/31`);
  addAddress(NS.tor, 'l2', `${L2.tFixed}/31`);
  linkUp(NS.host, 'l2');
  linkUp(NS.tor, 'l2');
  await waitFor(
    'listener on the new address',
    async () => (listening().includes(L2.h) ? true : undefined),
    5000,
    20,
  );
  assert.deepEqual(listening(), [L2.h, L2.hFixed, L1.h4, L1.h6].sort());
  assert.equal(await dial(L2.t, L2.h), 'open');
  assert.equal(await dial(L2.tFixed, L2.hFixed), 'open');
  // The wrong peer on a listener is refused too: each listener takes only its own peers.
  assert.equal(await dial(L2.t, L2.hFixed), 'closed');
});

test('a reload that removes a peer closes its listener; adding it back opens it again', async () => {
  const sp = lab.speaker!;
  sp.applyPeers(PEERS.filter((p) => p.name !== 'tor_6'));
  await waitFor(
    'IPv6 listener closed',
    async () => (listening().includes(L1.h6) ? undefined : true),
    5000,
    20,
  );
  assert.equal(await dial(L1.t6, L1.h6), 'ECONNREFUSED');
  sp.applyPeers(PEERS);
  await waitFor('IPv6 listener back', async () => (listening().includes(L1.h6) ? true : undefined), 5000, 20);
  assert.equal(await dial(L1.t6, L1.h6), 'open');
});
