// On veth pairs in namespaces: host A's uplink runs the steering program; a UDP request for the VIP
// from a client behind the ToR is answered by host B's kernel when A's ring says B (A encapsulates
// IPIP → ToR → B, B decapsulates in XDP, B answers the client directly: DSR), and by A's kernel when
// the ring says A. Topology (IPv4; lab addresses):
//
//   client 203.0.113.7 (lo of tor)
//   tor ── tA 198.51.100.128/31 ── up0 198.51.100.129/31 [A: lo 198.51.100.1, VIP 192.0.2.10]
//       └─ tB 198.51.100.130/31 ── up0 198.51.100.131/31 [B: lo 198.51.100.2, VIP 192.0.2.10]
//   tor routes the VIP to A; the tor ends carry an XDP_PASS program so A's XDP_TX frames arrive.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { attachXdp, BpfObject, ifIndex, projectRoot, withNetns } from '../../src/native/index.js';
import { Dataplane } from '../../src/steer/dataplane.js';
import { addVethPair, createNetns, type Netns, removeNetnsByPrefix, uniquePrefix } from '../helpers/netns.js';

const PREFIX = uniquePrefix('steer');
const VIP = '192.0.2.10';
const PORT = 7777;
const CLIENT = '203.0.113.7';
const HOST_A = '198.51.100.1';
const HOST_B = '198.51.100.2';
const SVC = 0;
const VIP6 = '2001:db8::10';
const CLIENT6 = '2001:db8:200::7';
const HOST6_A = '2001:db8:100::1';
const HOST6_B = '2001:db8:100::2';

// argv: [name, family, vip]; answers "<name>:<request>"
const SERVER = `const [n,f,v]=process.argv.slice(1);const d=require('dgram').createSocket('udp'+f);
d.on('message',(m,r)=>d.send(Buffer.from(n+':'+m),r.port,r.address));
d.bind(${PORT},v,()=>console.log('ready'));`;
// argv: [payload, family, client, vip]; sends every 500 ms (same socket, same flow) for up to 4 s
const CLIENT_JS = `const [p,f,c,v]=process.argv.slice(1);const d=require('dgram').createSocket('udp'+f);
const t=setTimeout(()=>{console.log('timeout');process.exit(0)},4000);
d.on('message',(m)=>{console.log(String(m));clearTimeout(t);process.exit(0)});
const send=()=>d.send(Buffer.from(p),${PORT},v);
d.bind(0,c,()=>{send();setInterval(send,500)});`;

const A = { id: 'a/echo', host4: HOST_A, host6: HOST6_A, local: true };
const B = { id: 'b/echo', host4: HOST_B, host6: HOST6_B, local: false };

let tor: Netns;
let nsA: Netns;
let nsB: Netns;
let dpA: Dataplane;
let dpB: Dataplane;
let pass: BpfObject;
const servers: ChildProcess[] = [];

function setupHost(ns: Netns, host: [string, string], up: [string, string], gw: [string, string]): void {
  ns.ip(['addr', 'add', `${up[0]}/31`, 'dev', 'up0']);
  ns.ip(['addr', 'add', `${up[1]}/127`, 'dev', 'up0', 'nodad']);
  ns.ip(['addr', 'add', `${host[0]}/32`, 'dev', 'lo']);
  ns.ip(['addr', 'add', `${host[1]}/128`, 'dev', 'lo', 'nodad']);
  ns.ip(['addr', 'add', `${VIP}/32`, 'dev', 'lo']);
  ns.ip(['addr', 'add', `${VIP6}/128`, 'dev', 'lo', 'nodad']);
  ns.ip(['route', 'add', 'default', 'via', gw[0], 'src', host[0]]);
  ns.ip(['-6', 'route', 'add', 'default', 'via', gw[1], 'src', host[1]]);
  ns.exec(['sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.up0.rp_filter=0']);
}

async function startServer(ns: Netns, name: string, family: 4 | 6): Promise<void> {
  const argv = [name, String(family), family === 4 ? VIP : VIP6];
  const p = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', SERVER, ...argv], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  servers.push(p);
  const [line] = (await once(p.stdout!, 'data')) as [Buffer];
  assert.match(String(line), /ready/);
}

function ask(payload: string, family: 4 | 6 = 4): string {
  const argv = [payload, String(family), family === 4 ? CLIENT : CLIENT6, family === 4 ? VIP : VIP6];
  return tor.exec([process.execPath, '-e', CLIENT_JS, ...argv]).trim();
}

before(async () => {
  removeNetnsByPrefix(PREFIX);
  tor = createNetns(PREFIX, 'tor');
  nsA = createNetns(PREFIX, 'a');
  nsB = createNetns(PREFIX, 'b');
  addVethPair(tor, 'tA', 'up0', nsA);
  addVethPair(tor, 'tB', 'up0', nsB);
  tor.ip(['addr', 'add', '198.51.100.128/31', 'dev', 'tA']);
  tor.ip(['addr', 'add', '198.51.100.130/31', 'dev', 'tB']);
  tor.ip(['addr', 'add', `${CLIENT}/32`, 'dev', 'lo']);
  tor.ip(['route', 'add', `${HOST_A}/32`, 'via', '198.51.100.129']);
  tor.ip(['route', 'add', `${HOST_B}/32`, 'via', '198.51.100.131']);
  tor.ip(['route', 'add', `${VIP}/32`, 'via', '198.51.100.129']);
  tor.ip(['addr', 'add', '2001:db8:ff::/127', 'dev', 'tA', 'nodad']);
  tor.ip(['addr', 'add', '2001:db8:ff::2/127', 'dev', 'tB', 'nodad']);
  tor.ip(['addr', 'add', `${CLIENT6}/128`, 'dev', 'lo', 'nodad']);
  tor.ip(['-6', 'route', 'add', `${HOST6_A}/128`, 'via', '2001:db8:ff::1']);
  tor.ip(['-6', 'route', 'add', `${HOST6_B}/128`, 'via', '2001:db8:ff::3']);
  tor.ip(['-6', 'route', 'add', `${VIP6}/128`, 'via', '2001:db8:ff::1']);
  tor.exec(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
  tor.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0']);
  tor.exec(['sysctl', '-qw', 'net.ipv4.conf.tA.rp_filter=0', 'net.ipv4.conf.tB.rp_filter=0']); // B's answers come in on tB
  // A veth hands locally sent packets over with the checksum still to do (CHECKSUM_PARTIAL); XDP_TX
  // drops that note, so B would see a bad UDP checksum. Real frames from a wire carry full checksums.
  tor.exec(['ethtool', '-K', 'tA', 'tx', 'off']);
  setupHost(
    nsA,
    [HOST_A, HOST6_A],
    ['198.51.100.129', '2001:db8:ff::1'],
    ['198.51.100.128', '2001:db8:ff::'],
  );
  setupHost(
    nsB,
    [HOST_B, HOST6_B],
    ['198.51.100.131', '2001:db8:ff::3'],
    ['198.51.100.130', '2001:db8:ff::2'],
  );

  pass = BpfObject.open(join(projectRoot(), 'build/bpf/xdp_pass.bpf.o'));
  pass.load();
  const passFd = pass.program('xdp_pass').fd;
  withNetns(tor.name, () => {
    attachXdp(ifIndex('tA'), passFd, { mode: 'native' });
    attachXdp(ifIndex('tB'), passFd, { mode: 'native' });
  });
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
