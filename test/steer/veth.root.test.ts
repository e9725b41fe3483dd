// On veth pairs in namespaces: host A's uplink runs the steering program; a UDP request for the VIP
// from a client behind the ToR is answered by host B's kernel when A's ring says B (A encapsulates
// IPIP → ToR → B, B decapsulates in XDP, B answers the client directly: DSR), and by A's kernel when
// the ring says A. Topology: test/steer/veth-lab.ts.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { type Netns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';
import { type BpfObject, ifIndex, withNetns } from '../../src/native/index.js';
import { Dataplane } from '../../src/steer/dataplane.js';
import { program } from '../helpers/programs.js';
import { buildVethLab, CLIENT, CLIENT6, HOST_A, HOST_B, HOST6_A, HOST6_B, VIP, VIP6 } from './veth-lab.js';

const PREFIX = uniquePrefix('steer');
const PORT = 7777;
const SVC = 0;

const A = { id: 'a/echo', host4: HOST_A, host6: HOST6_A, local: true };
const B = { id: 'b/echo', host4: HOST_B, host6: HOST6_B, local: false };

let tor: Netns;
let nsA: Netns;
let nsB: Netns;
let dpA: Dataplane;
let dpB: Dataplane;
let pass: BpfObject;
const servers: ChildProcess[] = [];

async function startServer(ns: Netns, name: string, family: 4 | 6): Promise<void> {
  const argv = ['--name', name, '--bind', family === 4 ? VIP : VIP6, '--port', String(PORT)];
  const p = spawn('ip', ['netns', 'exec', ns.name, ...program('udp-echo', argv)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  servers.push(p);
  const [line] = (await once(p.stdout!, 'data')) as [Buffer];
  assert.match(String(line), /ready/);
}

/** The answer to `payload` sent from behind the ToR (test/fixtures/programs/udp-ask.ts: one flow, resent). */
function ask(payload: string, family: 4 | 6 = 4): string {
  const [from, to] = family === 4 ? [CLIENT, VIP] : [CLIENT6, VIP6];
  return tor
    .exec(program('udp-ask', ['--payload', payload, '--from', from, '--to', to, '--port', String(PORT)]))
    .trim();
}

before(async () => {
  ({ tor, nsA, nsB, pass } = buildVethLab(PREFIX));
  const vips = [
    { vipId: 0, serviceId: SVC, addr: VIP, proto: 'udp' as const, port: PORT },
    { vipId: 1, serviceId: SVC, addr: VIP6, proto: 'udp' as const, port: PORT },
  ];
  dpA = Dataplane.open({ pin: false, host4: HOST_A, host6: HOST6_A });
  dpA.setVips(vips);
  dpB = Dataplane.open({ pin: false, host4: HOST_B, host6: HOST6_B });
  dpB.setVips(vips);
  dpB.setServiceMembers(SVC, [{ ...B, local: true }]);
  withNetns(nsA.name, () => dpA.attach(ifIndex('up0'), 'native'));
  withNetns(nsB.name, () => dpB.attach(ifIndex('up0'), 'native'));
  for (const family of [4, 6] as const) {
    await startServer(nsA, 'A', family);
    await startServer(nsB, 'B', family);
  }
});

after(() => {
  for (const p of servers) p.kill();
  removeNetnsByPrefix(PREFIX);
  dpA?.close();
  dpB?.close();
  pass?.close();
});

const stat = (dp: Dataplane, vipId: number, k: 'forwarded' | 'decap' | 'local'): bigint =>
  dp.vipStats(vipId)[k];

for (const family of [4, 6] as const) {
  const vipId = family === 4 ? 0 : 1;
  test(`IPv${family}: ring says B — A encapsulates, B decapsulates and answers the client directly`, () => {
    dpA.clearFlows();
    dpA.setServiceMembers(SVC, [B]);
    const before = [stat(dpA, vipId, 'forwarded'), stat(dpB, vipId, 'decap')];
    const reply = ask('hello', family);
    const diag = (): string =>
      JSON.stringify({ a: dpA.vipStats(vipId), b: dpB.vipStats(vipId), ga: dpA.globalStats() }, (_, v) =>
        typeof v === 'bigint' ? Number(v) : v,
      );
    assert.equal(reply, 'B:hello', diag());
    assert.ok(stat(dpA, vipId, 'forwarded') > before[0]!, 'A forwarded it');
    assert.ok(stat(dpB, vipId, 'decap') > before[1]!, 'B decapsulated it');
    assert.equal(stat(dpA, vipId, 'local'), 0n, 'A never passed it up');
  });

  test(`IPv${family}: ring says A — A passes the packet to its own kernel, which answers`, () => {
    dpA.clearFlows();
    dpA.setServiceMembers(SVC, [A]);
    const before = stat(dpA, vipId, 'local');
    assert.equal(ask('again', family), 'A:again');
    assert.ok(stat(dpA, vipId, 'local') > before, 'A passed it up');
  });
}
