// BFD on its own thread (src/bfd/thread.ts) against real peers: FRR 8.4's bfdd over IPv4 and BIRD 2's
// `protocol bfd` over IPv6, 100 ms × 3. Checked: a stalled agent loop makes no flap — the test's own
// loop (the agent's, here) busy-waits 400 ms at a time, longer than the 300 ms detection time, five
// times; with the sessions on that loop the peers stop hearing us and take them Down (their Down
// reaches us as neighbor-signaled-session-down), with the thread no session at either end leaves Up.
// Also: our packets leave marked CS6 (tos / class 0xc0) with TTL / hop limit 255, and closing the
// thread ends the sessions (the peers go Down).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { birdBfdStates, frrBfdStates, startBirdBfd, startFrrBfd } from '../../lab/bfd-peers.js';
import { runInAsync, sleep, waitFor } from '../../lab/exec.js';
import { addAddress, createNamespace, createVeth, linkUp } from '../../lab/netns.js';
import type { BfdPeerSpec } from '../../src/bfd/manager.js';
import { BfdThread } from '../../src/bfd/thread.js';
import { systemClock } from '../../src/clock.js';
import { SpeakerLab } from '../bgp/speaker-lab.js';

const lab = new SpeakerLab('bf');
const SYSCTLS = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'];
const TIMERS = { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3 };
const UP_WITHIN_MS = 20_000;
/** Longer than the detection time (300 ms): a loop that held our packets this long loses the session. */
const STALL_MS = 400;
const STALLS = 5;
/** Between stalls, the loop runs (the thread's messages arrive, the peers' states are read). */
const BETWEEN_MS = 600;
/** Both ends Up this long before the stalls (the peers settle their timers after coming Up). */
const SETTLED_MS = 2_000;

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // the agent's loop, busy: no timer, no socket read, no message runs meanwhile
  }
}

/** tcpdump's verbose line of one of our packets as the peer receives it. */
async function firstPacketLine(ns: string, src: string): Promise<string> {
  const out = await runInAsync(ns, 'timeout', [
    '10',
    'tcpdump',
    '-i',
    'dn1',
    '-c',
    '1',
    '-n',
    '-v',
    `udp dst port 3784 and src host ${src}`,
  ]);
  return out.split('\n')[0] ?? '';
}

test('BFD on its thread: a 400 ms stall of the loop, five times, flaps nothing at FRR or BIRD; CS6 marking', {
  timeout: 120_000,
}, async () => {
  const h = lab.ns('h');
  const frrNs = lab.ns('frr');
  const birdNs = lab.ns('bird');
  for (const ns of [h, frrNs, birdNs]) createNamespace(ns, SYSCTLS);
  createVeth(h, 'up1', frrNs, 'dn1');
  createVeth(h, 'up2', birdNs, 'dn1');
  addAddress(h, 'up1', '192.0.2.1/31');
  addAddress(frrNs, 'dn1', '192.0.2.0/31');
  addAddress(h, 'up2', '2001:db8:2::1/64');
  addAddress(birdNs, 'dn1', '2001:db8:2::2/64');
  for (const [ns, i] of [
    [h, 'up1'],
    [h, 'up2'],
    [frrNs, 'dn1'],
    [birdNs, 'dn1'],
  ])
    linkUp(ns!, i!);
  const frr = await startFrrBfd(lab.procs, frrNs, `${lab.dir}/frr`, [
    { remote: '192.0.2.1', local: '192.0.2.0' },
  ]);
  const bird = await startBirdBfd(lab.procs, birdNs, `${lab.dir}/bird`, '192.0.2.2', [
    { remote: '2001:db8:2::1', local: '2001:db8:2::2' },
  ]);
  const specs: BfdPeerSpec[] = [
    {
      name: 'frr',
      peerAddress: '192.0.2.0',
      local: { family: 4, address: '192.0.2.1', ifindex: 0 },
      timers: TIMERS,
    },
    {
      name: 'bird',
      peerAddress: '2001:db8:2::2',
      local: { family: 6, address: '2001:db8:2::1', ifindex: 0 },
      timers: TIMERS,
    },
  ];
  const changes: string[] = [];
  const logs: string[] = [];
  const bfd = new BfdThread({
    clock: systemClock,
    netns: h,
    onState: (peer, from, to, diag) => changes.push(`${peer} ${from}>${to} ${diag}`),
    log: (event, fields) => logs.push(`${event} ${JSON.stringify(fields)}`),
  });
  lab.onTeardown(() => bfd.close());
  bfd.apply(specs);
  const peersUp = async (): Promise<boolean> =>
    (await frrBfdStates(frr.dir)).get('192.0.2.1') === 'up' &&
    (await birdBfdStates(bird.ctl)).get('2001:db8:2::1') === 'up';
  await waitFor(
    'both ends up',
    async () => (bfd.isUp('frr') && bfd.isUp('bird') && (await peersUp()) ? true : undefined),
    UP_WITHIN_MS,
  ).catch((err) => {
    throw new Error(`${err.message}\n${changes.join('\n')}\n${logs.join('\n')}`);
  });
  assert.equal(bfd.fellBack, null, 'the sessions run on their thread');
  assert.match(logs.join('\n'), /bfd-thread-started/);
  await sleep(SETTLED_MS);

  const [v4, v6] = await Promise.all([
    firstPacketLine(frrNs, '192.0.2.1'),
    firstPacketLine(birdNs, '2001:db8:2::1'),
  ]);
  assert.match(v4, /tos 0xc0,.*ttl 255/, v4);
  assert.match(v6, /class 0xc0,.*hlim 255/, v6);

  const before = changes.length;
  const sentBefore = bfd.status('frr')!.counters.packetsOut;
  for (let i = 0; i < STALLS; i++) {
    busyWait(STALL_MS);
    await sleep(BETWEEN_MS);
  }
  const after = changes.slice(before);
  assert.deepEqual(after, [], `no state change at our end while the loop stalled:\n${after.join('\n')}`);
  assert.ok(await peersUp(), 'both peers still up');
  assert.equal(bfd.isUp('frr'), true);
  assert.equal(bfd.isUp('bird'), true);
  // ~10 packets a second went on through the stalls: the snapshot counts them.
  const stalledMs = STALLS * (STALL_MS + BETWEEN_MS);
  assert.ok(bfd.status('frr')!.counters.packetsOut - sentBefore >= stalledMs / 200, 'packets sent meanwhile');

  bfd.close();
  await waitFor('peers down after close', async () => ((await peersUp()) ? undefined : true), 5_000);
});
