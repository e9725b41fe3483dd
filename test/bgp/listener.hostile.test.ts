// Hostile input on the listener path, over real TCP on loopback: connections from the configured
// passive peer's address that send random bytes, a valid header with a random body, an OPEN followed
// by mutated UPDATEs or random messages, or close half-way, several at once (so collisions are in
// play too), and connections from an unconfigured address. The invariant: the process never ends and
// no handler fails with anything but a handled codec error (`bgp-handler-failed` is never logged),
// every connection is closed in the end (the fd count comes back), and afterwards the same peer
// still establishes a session. Budget: SHORT_STREAMS seeded streams in `make test`, 60 s with
// ANYCASTD_FUZZ=long.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { after, test } from 'node:test';
import { encodeKeepalive } from '../../src/bgp/codec/keepalive.js';
import { encodeOpen } from '../../src/bgp/codec/open.js';
import { encodeUpdate } from '../../src/bgp/codec/update.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import { peerSchema } from '../../src/config/schema-bgp.js';
import { FUZZ_LONG, fuzzBudget, LONG_BUDGET_MS } from '../helpers/fuzz-budget.js';
import { waitFor } from '../helpers/wait-for.js';
import { seededRandom } from './rng.js';

const SHORT_STREAMS = 40;
/** Beyond the fuzz itself: the well-behaved peer's session and the fds coming back. */
const AFTER_FUZZ_MS = 30_000;
const SEED = 0x1157e4;
const PARALLEL = 4;
const PEER = '127.0.0.41';
const STRANGER = '127.0.0.42';
const TOR_AS = 65001;
const HEADER_LEN = 19;
const MARKER = Buffer.alloc(16, 0xff);
const MAX_LEN = 4096;

const rand = seededRandom(SEED);
const int = (n: number) => Math.floor(rand() * n);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

const OPEN = encodeOpen({
  myAs: TOR_AS,
  holdTime: 0,
  bgpId: '192.0.2.41',
  capabilities: [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'four-octet-as', asn: TOR_AS },
  ],
});
const UPDATE = encodeUpdate(
  {
    attributes: { origin: 0, asPath: [{ type: 'sequence', asns: [TOR_AS] }], nextHop: '192.0.2.1' },
    nlri: [{ afi: 1, addr: '0.0.0.0', len: 0 }],
  },
  { as4: true, ebgp: true },
);

function header(len: number, type: number): Buffer {
  const h = Buffer.alloc(HEADER_LEN);
  MARKER.copy(h);
  h.writeUInt16BE(len, 16);
  h[18] = type;
  return h;
}

function mutated(msg: Buffer): Buffer {
  const m = Buffer.from(msg);
  for (let i = 0, n = 1 + int(4); i < n; i++) m[HEADER_LEN + int(m.length - HEADER_LEN)] = int(256);
  return m;
}

/** One hostile stream of bytes. */
function hostile(): Buffer[] {
  switch (int(5)) {
    case 0:
      return [bytes(1 + int(MAX_LEN))];
    case 1: {
      const len = int(0x10000);
      return [header(len, int(8)), bytes(int(Math.min(len, MAX_LEN)))];
    }
    case 2:
      return [OPEN, encodeKeepalive(), ...Array.from({ length: 1 + int(5) }, () => mutated(UPDATE))];
    case 3: {
      const body = bytes(int(200));
      return [OPEN, encodeKeepalive(), header(HEADER_LEN + body.length, 1 + int(5)), body];
    }
    default:
      return [OPEN.subarray(0, int(OPEN.length))]; // cut off half-way
  }
}

/** Connect from `from`, write `chunks` in pieces, then read until closed (or a short while). */
function send(port: number, from: string, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, 300);
    s.on('error', done);
    s.on('close', done);
    s.on('data', () => {});
    s.on('connect', () => {
      const all = Buffer.concat(chunks);
      for (let at = 0; at < all.length; ) {
        const n = 1 + int(all.length - at);
        s.write(all.subarray(at, at + n));
        at += n;
      }
    });
  });
}

const fds = (): number => readdirSync('/proc/self/fd').length;
let speaker: BgpSpeaker | undefined;
after(() => speaker?.stop());

test('hostile streams from the peer and from a stranger: the process stays up, the peer still establishes', {
  timeout: (FUZZ_LONG ? LONG_BUDGET_MS : 0) + AFTER_FUZZ_MS,
}, async () => {
  const events: string[] = [];
  speaker = await BgpSpeaker.start(
    {
      node: {
        id: 'h1',
        host: { ipv4: '198.51.100.11', ipv6: null },
        asn: 65101,
        routerId: '198.51.100.11',
        uplinks: [],
      },
      peers: [peerSchema.parse({ address: PEER, remote_asn: TOR_AS, passive: true, hold_time: '9s' })],
    },
    { port: 0, retryBaseMs: 20, retryMaxMs: 100, log: (e) => events.push(e) },
  );
  const sp = speaker;
  const port = sp.listenPort!;
  const fds0 = fds();
  const budget = fuzzBudget(SHORT_STREAMS);
  let streams = 0;
  const worker = async (): Promise<void> => {
    while (budget.more(streams)) {
      streams++;
      await send(port, rand() < 0.9 ? PEER : STRANGER, hostile());
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  assert.equal(events.filter((e) => e === 'bgp-handler-failed').length, 0, 'no handler failed');
  assert.ok(sp.connectionsRefused > 0, 'the stranger was refused');
  // A well-behaved peer afterwards (retrying, as a real one does, while the last hostile connections
  // still hold the session's place): OPEN, KEEPALIVE, and the session is up.
  let good: net.Socket | undefined;
  const dialGood = (): void => {
    if (sp.peers()[0]!.state === 'established') return;
    good = net.connect({ host: '127.0.0.1', port, localAddress: PEER }, () => {
      good?.write(OPEN);
      good?.write(encodeKeepalive());
    });
    good.on('error', () => {});
    good.on('data', () => {});
    good.on('close', () => setTimeout(dialGood, 50));
  };
  dialGood();
  await waitFor(() => sp.peers()[0]!.state === 'established', {
    timeoutMs: 10_000,
    what: 'Established after the fuzz',
  });
  good?.removeAllListeners('close');
  good?.destroy();
  await waitFor(() => fds() <= fds0 + 2, { timeoutMs: 5000, what: 'fds back' });
  const p = sp.peers()[0]!;
  console.log(
    `# listener fuzz: ${streams} hostile streams (${budget.label}), ${sp.connectionsRefused} refused, ` +
      `${p.notificationsOut} NOTIFICATIONs sent, fds ${fds0} → ${fds()}`,
  );
});
