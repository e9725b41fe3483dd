// Upgrading the steering program under traffic, on veth pairs in namespaces (veth-lab.ts): host A runs
// the program with pinned maps, its ring sends the VIP to B, a client behind the ToR holds a connection
// served by B; then A's ring moves to A, so only A's flow-table entry keeps that connection on B (one
// ring: no second chance to rescue it). A newer object — built here with -DSTEER_LAYOUT_NEXT: the layout after this one,
// a field appended to flow_val, a new map — starts on A's pins: the flow table is copied into the wider
// map, the program is replaced atomically, the pins are swapped; every flow is kept and the held
// connection answers through the swap. Forgetting its entry afterwards breaks it (the check can fail).
// Then the older object is refused on the newer pins: ERR_PIN_LAYOUT, the running program and its pins
// untouched, a connection through it still served.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import type { AnycastdError } from '../../src/errors.js';
import { BpfMap, type BpfObject, ifIndex, projectRoot, queryXdp, withNetns } from '../../src/native/index.js';
import { ipv4Bytes } from '../../src/steer/addr.js';
import { Dataplane, type InstanceSpec } from '../../src/steer/dataplane.js';
import * as L from '../../src/steer/layout.js';
import { IPPROTO_TCP } from '../../src/steer/proto.js';
import { program } from '../helpers/programs.js';
import { type LabProc, nextLine, START_TIMEOUT_MS, spawnIn as spawnInNs } from './lab-procs.js';
import { buildVethLab, CLIENT, HOST_A, HOST_B, HOST6_A, HOST6_B, VIP } from './veth-lab.js';

const PREFIX = uniquePrefix('steer-up');
const PIN_DIR = `/sys/fs/bpf/${PREFIX}pins`;
const PORT = 7779;
const SVC = 0;
const VIP_ID = 0;
/** Flow entries written beside the held connection's, all of which must survive the upgrade. */
const EXTRA_FLOWS = 1_000;
const EXTRA_PORT = 9; // their destination port: never the held connection's
/** The newer layout's flow_val: the appended u64 after instance and flags. */
const NEXT_FLOW_VAL_SIZE = 16;

const A: InstanceSpec = { id: 'a/echo', host4: HOST_A, host6: HOST6_A, local: true };
const B: InstanceSpec = { id: 'b/echo', host4: HOST_B, host6: HOST6_B, local: false };
const host = { host4: HOST_A, host6: HOST6_A };

let tor: Netns;
let nsA: Netns;
let nsB: Netns;
let pass: BpfObject;
let dpB: Dataplane;
let before1: Dataplane; // A's program of this layout (V)
let after2: Dataplane; // A's program of the next layout (V + 1)
/** This tree's layout version (bpf/steer.h STEER_LAYOUT_VERSION). */
const V = L.STEER_LAYOUT_VERSION;
let nextObject: string;
let buildDir: string;
const procs: ChildProcess[] = [];

const spawnIn = (ns: Netns, argv: string[]): LabProc => spawnInNs(ns, argv, procs);

/** A line sent on the held connection, and its answer. */
async function say(c: LabProc, line: string): Promise<string> {
  c.p.stdin!.write(`${line}\n`);
  return nextLine(c.lines);
}

async function holdConnection(): Promise<LabProc> {
  const c = spawnIn(tor, program('tcp-hold', ['--from', CLIENT, '--to', VIP, '--port', String(PORT)]));
  assert.equal(await nextLine(c.lines, START_TIMEOUT_MS), 'connected');
  return c;
}

/** `EXTRA_FLOWS` made-up flows from 203.0.113.0/24 clients, each naming instance slot `slot`. */
function extraFlows(slot: number): [Buffer[], Buffer[]] {
  const keys: Buffer[] = [];
  const values: Buffer[] = [];
  for (let i = 0; i < EXTRA_FLOWS; i++) {
    const src = Buffer.alloc(16);
    ipv4Bytes(`203.0.113.${1 + (i % 250)}`).copy(src);
    const dst = Buffer.alloc(16);
    ipv4Bytes(VIP).copy(dst);
    keys.push(
      L.encodeFlowKey({ src, dst, sport: 10_000 + i, dport: EXTRA_PORT, proto: IPPROTO_TCP, family: 4 }),
    );
    values.push(L.encodeFlowVal({ instance: slot, flags: 0 }));
  }
  return [keys, values];
}

const pinnedFlows = (): BpfMap => BpfMap.openPinned(join(PIN_DIR, 'flows'));

before(async () => {
  buildDir = mkdtempSync(join(tmpdir(), 'acd-upgrade-'));
  nextObject = join(buildDir, 'steer-next.bpf.o');
  // the same compile as the Makefile's, plus the flag that models the next layout
  execFileSync('clang', [
    '-O2',
    '-g',
    '-target',
    'bpf',
    '-Wall',
    '-Werror',
    `-I/usr/include/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`,
    '-DSTEER_LAYOUT_NEXT',
    '-c',
    join(projectRoot(), 'bpf/steer.bpf.c'),
    '-o',
    nextObject,
  ]);
  ({ tor, nsA, nsB, pass } = buildVethLab(PREFIX));
  const vips = [{ vipId: VIP_ID, serviceId: SVC, addr: VIP, proto: 'tcp' as const, port: PORT }];
  dpB = Dataplane.open({ pin: false, host4: HOST_B, host6: HOST6_B });
  dpB.setVips(vips);
  dpB.setServiceMembers(SVC, [{ ...B, local: true }]);
  before1 = Dataplane.open({ pinDir: PIN_DIR, ...host });
  before1.setVips(vips);
  before1.setServiceMembers(SVC, [B]);
  withNetns(nsA.name, () => before1.replaceOn(ifIndex('up0')));
  withNetns(nsB.name, () => dpB.replaceOn(ifIndex('up0')));
  for (const [ns, name] of [
    [nsA, 'A'],
    [nsB, 'B'],
  ] as const) {
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
  for (const dp of [after2, before1, dpB]) dp?.close();
  pass?.close();
  rmSync(PIN_DIR, { recursive: true, force: true });
  rmSync(buildDir, { recursive: true, force: true });
});

test('a newer layout (flow value widened, a new map) migrates the pins: every flow and a held connection kept', async () => {
  const held = await holdConnection();
  assert.equal(await say(held, 'one'), 'B:one', 'served by B: A recorded the flow to B');
  const [keys, values] = extraFlows(before1.instanceSlot(B.id));
  before1.map('flows').updateBatch(keys, values);
  before1.setServiceMembers(SVC, [A]); // from now on only the flow entry keeps the connection on B
  assert.equal(await say(held, 'two'), 'B:two');
  const flowsBefore = before1.readFlows();
  assert.equal(flowsBefore.size, EXTRA_FLOWS + 1);
  assert.equal(before1.layout.object, V);

  after2 = Dataplane.open({ pinDir: PIN_DIR, objectPath: nextObject, ...host });
  assert.deepEqual(after2.layout, { pinned: V, object: V + 1 });
  assert.deepEqual(after2.migrated, ['flows']);
  assert.ok(after2.upgrading, 'the swap is still to do');
  assert.equal(after2.map('flows').valueSize, NEXT_FLOW_VAL_SIZE);
  assert.equal(
    pinnedFlows().valueSize,
    L.LAYOUTS.flow_val.size,
    'the old flow table stays pinned until the swap',
  );
  assert.equal(await say(held, 'three'), 'B:three', 'the old program still runs');

  withNetns(nsA.name, () => after2.replaceOn(ifIndex('up0')));
  assert.equal(
    withNetns(nsA.name, () => queryXdp(ifIndex('up0')).progId),
    after2.program.id,
  );
  const added = after2.finishUpgrade();
  assert.ok(added !== null && 'flows' in added && !after2.upgrading, `finished: ${JSON.stringify(added)}`);

  const flowsAfter = after2.readFlows();
  for (const [k, slot] of flowsBefore) assert.equal(flowsAfter.get(k), slot, `flow ${k} kept`);
  const pinned = pinnedFlows();
  try {
    assert.equal(pinned.id, after2.map('flows').id, 'the pin is the new flow table');
    assert.equal(pinned.count(), flowsAfter.size);
    const heldKey = [...flowsBefore.keys()].find(
      (k) => L.decodeFlowKey(Buffer.from(k, 'hex')).dport === PORT,
    )!;
    const v = pinned.lookup(Buffer.from(heldKey, 'hex'))!;
    assert.equal(
      v.readBigUInt64LE(L.LAYOUTS.flow_val.size),
      0n,
      'the appended field is zero in a copied entry',
    );
  } finally {
    pinned.close();
  }
  const pins = readdirSync(PIN_DIR).sort();
  assert.ok(pins.includes('next_extra'), `the new map is pinned: ${pins.join(' ')}`);
  assert.ok(!pins.some((p) => p.endsWith('_swap')), 'no half-made pin left');
  const layout = BpfMap.openPinned(join(PIN_DIR, 'pin_layout'));
  assert.equal(layout.lookup(Buffer.alloc(4))!.readUInt32LE(0), V + 1, 'the pins are the next layout now');
  layout.close();

  assert.equal(await say(held, 'four'), 'B:four', 'the held connection answers through the swap');
  // the check above can fail: without its entry the connection goes by the ring to A, which resets it
  const heldKey = [...flowsBefore.keys()].find((k) => L.decodeFlowKey(Buffer.from(k, 'hex')).dport === PORT)!;
  after2.forgetFlow(Buffer.from(heldKey, 'hex'));
  assert.match(await say(held, 'five'), /^closed: (ECONNRESET|end)$/);
});

test('the older layout on the newer pins is refused: the running program and its pins are left alone', async () => {
  const c = await holdConnection();
  assert.equal(await say(c, 'one'), 'A:one');
  const pins = readdirSync(PIN_DIR).sort();
  const flows = after2.readFlows();
  assert.throws(
    () => Dataplane.open({ pinDir: PIN_DIR, ...host }),
    (err: AnycastdError) =>
      err.code === 'ERR_PIN_LAYOUT' &&
      new RegExp(
        `are layout ${V + 1}, this program's is ${V} .*left by a newer agent; nothing was changed`,
      ).test(err.message),
  );
  assert.equal(
    withNetns(nsA.name, () => queryXdp(ifIndex('up0')).progId),
    after2.program.id,
  );
  assert.deepEqual(readdirSync(PIN_DIR).sort(), pins);
  const pinned = pinnedFlows();
  assert.equal(pinned.valueSize, NEXT_FLOW_VAL_SIZE);
  pinned.close();
  assert.deepEqual(after2.readFlows(), flows);
  assert.equal(await say(c, 'two'), 'A:two', 'still served');
});
