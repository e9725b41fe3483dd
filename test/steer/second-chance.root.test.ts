// The second chance on real kernels (veth lab of veth-lab.ts, both hosts running the program): a TCP
// connection held open by a client behind the ToR survives when the front host A has forgotten it
// (its flow table cleared, as after an ECMP move to a host that never saw the flow) and A's rings send
// its non-SYN packets somewhere without its socket:
//  1. the connection lives on B; A's established ring names A → A finds no socket (only the listener),
//     sends the segment once, marked, to the new ring's owner B; B's kernel answers;
//  2. the connection lives on A; A's established ring names B → A forwards to B; B finds no socket,
//     re-sends it marked to the new ring's owner A; A decapsulates, sees the mark and its socket, passes.
//  3. the connection lives on B; both live rings name A, the established ring they replaced names B → A
//     sends it once, marked, to B (the previous ring is the last resort).
// And the baseline: when every ring names A (no other owner), case 1 breaks — A's kernel resets it.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { Interface } from 'node:readline';
import { after, before, test } from 'node:test';
import { type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { type BpfObject, ifIndex, withNetns } from '../../src/native/index.js';
import { Dataplane, type InstanceSpec } from '../../src/steer/dataplane.js';
import { program } from '../helpers/programs.js';
import { type LabProc, nextLine, START_TIMEOUT_MS, spawnIn as spawnInNs } from './lab-procs.js';
import { buildVethLab, CLIENT, HOST_A, HOST_B, HOST6_A, HOST6_B, VIP } from './veth-lab.js';

const PREFIX = uniquePrefix('steer-sc');
const PORT = 7778;
const SVC = 0;
const VIP_ID = 0;

const A: InstanceSpec = { id: 'a/echo', host4: HOST_A, host6: HOST6_A, local: true };
const B: InstanceSpec = { id: 'b/echo', host4: HOST_B, host6: HOST6_B, local: false };
const local = (i: InstanceSpec, yes: boolean): InstanceSpec => ({ ...i, local: yes });

let tor: Netns;
let nsA: Netns;
let nsB: Netns;
let pass: BpfObject;
let dpA: Dataplane; // A's view: A local
let dpB: Dataplane; // B's view: B local
const procs: ChildProcess[] = [];

const spawnIn = (ns: Netns, argv: string[]): LabProc => spawnInNs(ns, argv, procs);

/** Both hosts' rings: A's view and B's view of the same members. */
function rings(newRing: InstanceSpec[], established: InstanceSpec[]): void {
  for (const [dp, me] of [
    [dpA, A.id],
    [dpB, B.id],
  ] as const) {
    const view = (xs: InstanceSpec[]): InstanceSpec[] => xs.map((i) => local(i, i.id === me));
    dp.setServiceRings(SVC, { new: view(newRing), established: view(established) });
  }
}

before(async () => {
  ({ tor, nsA, nsB, pass } = buildVethLab(PREFIX));
  const vips = [{ vipId: VIP_ID, serviceId: SVC, addr: VIP, proto: 'tcp' as const, port: PORT }];
  dpA = Dataplane.open({ pin: false, host4: HOST_A, host6: HOST6_A });
  dpB = Dataplane.open({ pin: false, host4: HOST_B, host6: HOST6_B });
  for (const dp of [dpA, dpB]) dp.setVips(vips);
  withNetns(nsA.name, () => dpA.attach(ifIndex('up0'), 'native'));
  withNetns(nsB.name, () => dpB.attach(ifIndex('up0'), 'native'));
  for (const [ns, name] of [
    [nsA, 'A'],
    [nsB, 'B'],
  ] as const) {
    // every line echoed as "<name>:<line>"
    const { lines } = spawnIn(
      ns,
      program('tcp-echo', ['--name', name, '--bind', VIP, '--port', String(PORT)]),
    );
    assert.equal(await nextLine(lines, START_TIMEOUT_MS), 'ready');
  }
});

after(() => {
  for (const p of procs) p.kill();
  removeNetnsByPrefix(PREFIX);
  dpA?.close();
  dpB?.close();
  pass?.close();
});

/** Opens a held connection while the new ring is `owner`, checks it is served there, returns it. */
async function hold(owner: InstanceSpec): Promise<{ p: ChildProcess; lines: Interface }> {
  for (const dp of [dpA, dpB]) dp.clearFlows();
  rings([owner], [owner]);
  // a held connection: stdin lines out, replies (and 'closed: <why>') to stdout
  const c = spawnIn(tor, program('tcp-hold', ['--from', CLIENT, '--to', VIP, '--port', String(PORT)]));
  assert.equal(await nextLine(c.lines, START_TIMEOUT_MS), 'connected');
  c.p.stdin!.write('one\n');
  assert.equal(await nextLine(c.lines), `${owner === A ? 'A' : 'B'}:one`);
  return c;
}

/**
 * Holds a connection on `owner`, then makes A forget it and sets the rings (new, established); the
 * next line's answer (or 'closed: …') is returned with the held client.
 */
async function forgetAndSend(
  owner: InstanceSpec,
  fresh: InstanceSpec[],
  established: InstanceSpec[],
  writes = 1,
) {
  const c = await hold(owner);
  dpA.clearFlows();
  for (const dp of [dpA, dpB]) dp.resetStats();
  for (let i = 0; i < writes; i++) rings(fresh, established);
  c.p.stdin!.write('two\n');
  return { c, answer: await nextLine(c.lines) };
}

test('connection on B, A forgets it and its established ring names A: second chance to B, kept', async () => {
  const { c, answer } = await forgetAndSend(B, [B], [A]);
  assert.equal(answer, 'B:two');
  assert.ok(dpA.vipStats(VIP_ID).sc_forwarded >= 1n, 'A gave it its second chance');
  assert.ok(dpB.vipStats(VIP_ID).sc_socket >= 1n, 'B found the socket');
  c.p.stdin!.write('three\n'); // now a flow-table hit at A: straight to B
  assert.equal(await nextLine(c.lines), 'B:three');
  c.p.kill();
});

test('connection on A, A forgets it and its established ring names B: B sends it back marked, kept', async () => {
  const { c, answer } = await forgetAndSend(A, [A], [B]);
  assert.equal(answer, 'A:two');
  assert.ok(dpB.vipStats(VIP_ID).sc_forwarded >= 1n, 'B gave it its second chance');
  assert.ok(dpA.vipStats(VIP_ID).sc_socket >= 1n, 'A found its socket');
  c.p.kill();
});

test('connection on B, both live rings now name A: the ring they replaced names B, so A sends it there, kept', async () => {
  const { c, answer } = await forgetAndSend(B, [A], [A]);
  assert.equal(answer, 'B:two');
  assert.ok(
    dpA.vipStats(VIP_ID).sc_forwarded >= 1n,
    'A gave it its second chance (previous established ring)',
  );
  c.p.kill();
});

test('baseline, every ring naming A (live and previous; no other owner): A resets it', async () => {
  const { c, answer } = await forgetAndSend(B, [A], [A], 2);
  assert.match(answer, /^closed: (ECONNRESET|end)$/);
  assert.ok(dpA.vipStats(VIP_ID).sc_none >= 1n, 'A had no other owner');
  c.p.kill();
});
