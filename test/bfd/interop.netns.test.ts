// BFD against real peers (RFC 5880/5881 single hop, asynchronous mode): FRR 8.4's bfdd on one link
// and BIRD 2's `protocol bfd` on another, each with three sessions to the agent — IPv4, IPv6 global
// and IPv6 link-local (unnumbered: the agent learns the peer's address from its packets). Checked:
// all six come Up at both ends at 100 ms × 3; freezing the peer's daemon (SIGSTOP) takes the agent's
// sessions Down within the detection time (300 ms, with slack for a loaded box) and they come back
// after SIGCONT; a packet with TTL below 255 (GTSM, RFC 5881 §5) or a malformed one is dropped and
// counted by reason; the link watcher reports the carrier gone at once when the peer's end of the
// veth goes down (`ip link set … down`).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type BfdLabSession,
  birdBfdStates,
  frrBfdStates,
  startBirdBfd,
  startFrrBfd,
} from '../../lab/bfd-peers.js';
import { runIn, runInAsync, sleepSync, waitFor } from '../../lab/exec.js';
import { addAddress, createNamespace, createVeth, linkUp } from '../../lab/netns.js';
import { kernelLinkSource, LinkStateWatcher } from '../../src/bfd/link-state.js';
import { BfdManager, type BfdPeerSpec } from '../../src/bfd/manager.js';
import { systemClock } from '../../src/clock.js';
import { Rtnetlink } from '../../src/native/rtnl.js';
import { SpeakerLab } from '../bgp/speaker-lab.js';

const lab = new SpeakerLab('bfdio');
const SYSCTLS = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'];
const TIMERS = { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3 };
/** Detection time 300 ms; the slack covers a loaded 2-core box (timers, vtysh, the test's own polls). */
const DOWN_WITHIN_MS = 1_000;
const UP_WITHIN_MS = 15_000;
/** Up for this long (ten detect times) counts as settled after a peer was thawed. */
const STABLE_UP_MS = 3_000;
const LL_POLLS = 100;
const LL_POLL_MS = 20;

/** The kernel's link-local address of a link (it appears once the link has carrier). */
function linkLocal(ns: string, ifname: string): string {
  for (let i = 0; i < LL_POLLS; i++) {
    const out = runIn(ns, 'ip', ['-6', '-j', 'addr', 'show', 'dev', ifname, 'scope', 'link']);
    // iproute2 lists filtered-out addresses as empty objects
    const info = (JSON.parse(out) as { addr_info: { local?: string }[] }[])[0]?.addr_info ?? [];
    const addr = info.find((a) => a.local)?.local;
    if (addr) return addr;
    sleepSync(LL_POLL_MS);
  }
  throw new Error(`no link-local address on ${ifname} in ${ns}`);
}

interface Link {
  name: string;
  ours: { ifname: string; v4: string; v6: string; ll: string; ifindex: number };
  theirs: { ifname: string; v4: string; v6: string; ll: string };
}

function makeLink(h: string, tor: string, n: number): Link {
  const ours = `up${n}`;
  createVeth(h, ours, tor, 'dn1');
  const v4 = { ours: `192.0.2.${2 * n - 1}`, theirs: `192.0.2.${2 * n - 2}` };
  const v6 = { ours: `2001:db8:${n}::1`, theirs: `2001:db8:${n}::2` };
  addAddress(h, ours, `${v4.ours}/31`);
  addAddress(h, ours, `${v6.ours}/64`);
  addAddress(tor, 'dn1', `${v4.theirs}/31`);
  addAddress(tor, 'dn1', `${v6.theirs}/64`);
  linkUp(h, ours);
  linkUp(tor, 'dn1');
  const ifindex = Number(
    (JSON.parse(runIn(h, 'ip', ['-j', 'link', 'show', ours])) as { ifindex: number }[])[0]!.ifindex,
  );
  return {
    name: `tor${n}`,
    ours: { ifname: ours, v4: v4.ours, v6: v6.ours, ll: linkLocal(h, ours), ifindex },
    theirs: { ifname: 'dn1', v4: v4.theirs, v6: v6.theirs, ll: linkLocal(tor, 'dn1') },
  };
}

/** The peer's three sessions to us, and ours to it (the link-local one unnumbered). */
function sessions(l: Link): { peer: BfdLabSession[]; ours: BfdPeerSpec[] } {
  return {
    peer: [
      { remote: l.ours.v4, local: l.theirs.v4 },
      { remote: l.ours.v6, local: l.theirs.v6 },
      { remote: l.ours.ll, ifname: l.theirs.ifname },
    ],
    ours: [
      {
        name: `${l.name}-v4`,
        peerAddress: l.theirs.v4,
        local: { family: 4, address: l.ours.v4, ifindex: 0 },
      },
      {
        name: `${l.name}-v6`,
        peerAddress: l.theirs.v6,
        local: { family: 6, address: l.ours.v6, ifindex: 0 },
      },
      {
        name: `${l.name}-ll`,
        peerAddress: null,
        local: { family: 6, address: l.ours.ll, ifindex: l.ours.ifindex },
      },
    ].map((s) => ({ ...s, timers: TIMERS }) as BfdPeerSpec),
  };
}

test('BFD with FRR bfdd and BIRD, both families and link-local: up, frozen peer → down in detect time', async () => {
  const h = lab.ns('h');
  const t1 = lab.ns('frr');
  const t2 = lab.ns('bird');
  for (const ns of [h, t1, t2]) createNamespace(ns, SYSCTLS);
  const l1 = makeLink(h, t1, 1);
  const l2 = makeLink(h, t2, 2);
  const s1 = sessions(l1);
  const s2 = sessions(l2);
  const frr = await startFrrBfd(lab.procs, t1, `${lab.dir}/frr`, s1.peer);
  const bird = await startBirdBfd(lab.procs, t2, `${lab.dir}/bird`, '192.0.2.2', s2.peer);
  const changes: string[] = [];
  const manager = new BfdManager({
    clock: systemClock,
    netns: h,
    onState: (peer, from, to, diag) => changes.push(`${Date.now()} ${peer} ${from}>${to} ${diag}`),
  });
  lab.onTeardown(() => manager.close());
  manager.apply([...s1.ours, ...s2.ours]);
  const names = [...s1.ours, ...s2.ours].map((s) => s.name);
  const allUp = (prefix: string) => names.filter((n) => n.startsWith(prefix)).every((n) => manager.isUp(n));
  await waitFor('our six sessions up', async () => (allUp('tor') ? true : undefined), UP_WITHIN_MS).catch(
    (err) => {
      throw new Error(
        `${err.message}\n${JSON.stringify(manager.statuses(), null, 1)}\n${changes.join('\n')}`,
      );
    },
  );
  // The peers come Up on our next packet after we do.
  await waitFor(
    'FRR and BIRD up',
    async () => {
      const frrStates = await frrBfdStates(frr.dir);
      const birdStates = await birdBfdStates(bird.ctl);
      const frrUp = [l1.ours.v4, l1.ours.v6, l1.ours.ll].every((a) => frrStates.get(a) === 'up');
      const birdUp = [l2.ours.v4, l2.ours.v6, l2.ours.ll].every((a) => birdStates.get(a) === 'up');
      return frrUp && birdUp ? true : undefined;
    },
    UP_WITHIN_MS,
  );
  assert.equal(manager.status('tor1-ll')?.peerAddress, l1.theirs.ll);
  assert.equal(manager.status('tor1-v4')?.txIntervalMs, 100);
  assert.equal(manager.status('tor1-v4')?.detectTimeMs, 300);

  for (const [prefix, proc] of [
    ['tor1', frr.bfdd],
    ['tor2', bird.bird],
  ] as const) {
    process.kill(proc.pid, 'SIGSTOP');
    const frozen = Date.now();
    try {
      const all = names.filter((n) => n.startsWith(prefix));
      await waitFor(
        `${prefix} down`,
        async () => (all.every((n) => !manager.isUp(n)) ? true : undefined),
        DOWN_WITHIN_MS + 2_000,
        10,
      );
      const took = Date.now() - frozen;
      console.log(`# ${prefix}: peer frozen → our three sessions down in ${took} ms`);
      assert.ok(took <= DOWN_WITHIN_MS, `${prefix}: down after ${took} ms`);
      for (const n of all) assert.equal(manager.status(n)?.localDiag, 'control-detection-time-expired');
    } finally {
      process.kill(proc.pid, 'SIGCONT');
    }
    // A thawed daemon first works off the timers that ran out while it was stopped: it may take a session
    // down once more right after it came Up. "Up again" is Up and staying Up for several detect times.
    let upSince: number | undefined;
    await waitFor(
      `${prefix} up again and stable`,
      async () => {
        if (!allUp(prefix)) upSince = undefined;
        else upSince ??= Date.now();
        return upSince !== undefined && Date.now() - upSince >= STABLE_UP_MS ? true : undefined;
      },
      UP_WITHIN_MS,
      10,
    );
  }

  // GTSM and hostile bytes, from the peer's namespace: TTL 64 is dropped, so is a malformed packet.
  const before = { ...manager.drops };
  const send = async (ttl: number, data: Buffer): Promise<void> => {
    const code = `const s=require('dgram').createSocket('udp4');s.bind(0,()=>{s.setTTL(${ttl});s.send(Buffer.from('${data.toString('hex')}','hex'),3784,'${l1.ours.v4}',()=>s.close())})`;
    // async: a synchronous spawn would stop this process's BFD sessions for the child's start-up (a node
    // start here can exceed the 300 ms detect time) and the peers would rightly call them down
    await runInAsync(t1, 'node', ['-e', code]);
  };
  const valid = Buffer.from('20c0031800000001000000000001869f000186a000000000', 'hex');
  await send(64, valid);
  await send(255, valid.subarray(0, 10));
  await waitFor(
    'drops counted',
    async () => (manager.drops.ttl > before.ttl && manager.drops.short > before.short ? true : undefined),
    2_000,
  );
  const down = names.filter((n) => !manager.isUp(n)).map((n) => `${n} (${manager.status(n)?.localDiag})`);
  assert.deepEqual(down, [], 'hostile packets took no session down');

  // Link state: the peer's end of the veth goes down → our end loses carrier, reported at once.
  const rtnl = Rtnetlink.open({ netns: h });
  lab.onTeardown(() => rtnl.close());
  const events: [string, boolean, number][] = [];
  const watcher = new LinkStateWatcher([l1.ours.ifname, l2.ours.ifname], kernelLinkSource(rtnl, h), (i, up) =>
    events.push([i, up, Date.now()]),
  );
  lab.onTeardown(() => watcher.close());
  watcher.start();
  assert.equal(watcher.isUp(l1.ours.ifname), true);
  const cut = Date.now();
  runIn(t1, 'ip', ['link', 'set', 'dn1', 'down']);
  await waitFor('carrier loss reported', async () => (events.length > 0 ? true : undefined), 2_000, 5);
  assert.deepEqual(events[0]!.slice(0, 2), [l1.ours.ifname, false]);
  console.log(`# link down at the peer → reported in ${events[0]![2] - cut} ms`);
  runIn(t1, 'ip', ['link', 'set', 'dn1', 'up']);
  await waitFor('carrier back', async () => (watcher.isUp(l1.ours.ifname) ? true : undefined), 2_000, 5);
});
