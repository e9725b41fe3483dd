// The flow reaper on the real kernel: connections to a VIP on 127.0.0.1 / ::1 (a service of the test bed's
// local instance), their flow entries recorded (and cached) by the program itself, then the connections
// ended — by the client's FIN, by the server's FIN (the server's socket goes to TIME_WAIT), by an RST —
// on IPv4, IPv6 and a dual-stack socket of an IPv4 client: the kernel program removes the entry that
// names the local instance and every CPU's cached copy, and leaves an entry naming another host, an
// unrelated entry, and entries whose 5-tuple closed in another namespace. Its pinned link outlives the
// agent's process and is replaced by the next start. And the listener, where the kernel refuses the program.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createNetns, type Netns, removeNetnsByPrefix, uniquePrefix, unmountUnder } from '../../lab/netns.js';
import { BpfLink, native, projectRoot } from '../../src/native/index.js';
import { addr16 } from '../../src/steer/addr.js';
import type { Dataplane } from '../../src/steer/dataplane.js';
import { KernelReaper, removeReaperPin, startFlowReaper } from '../../src/steer/flow-reaper.js';
import { encodeFlowKey, encodeFlowVal, FAMILY_V4, FAMILY_V6, LAYOUTS } from '../../src/steer/layout.js';
import { REAPER_LINK_PIN } from '../../src/steer/pin-plan.js';
import * as P from '../../src/steer/proto.js';
import { waitFor } from '../helpers/wait-for.js';
import { flowFrame } from './packets.js';
import { openTestbed, REMOTE, SVC_LOCAL, VIPS } from './setup.js';

const LO4 = '127.0.0.1';
const LO6 = '::1';
const prefix = uniquePrefix('dpreap');
const bpffs = `/tmp/${prefix}bpffs`;
const pinDir = join(bpffs, 'pins');
let dp: Dataplane;
let reaper: KernelReaper;

interface Conn {
  client: Socket;
  server: Socket;
  key: Buffer;
  /** Records the flow as the program does (an ACK missing the flow table), cached on this CPU. */
  record(): void;
  cached(): boolean;
}

/** A listening server on `host` (a VIP of the local service) keeping what it accepts. */
async function listen(host: string): Promise<{ server: Server; port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((s) => {
    accepted.push(s);
    s.on('error', () => {});
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, accepted };
}

const vipsWith = (ports: { addr: string; port: number }[]) =>
  dp.setVips([
    ...Object.values(VIPS),
    ...ports.map((p, i) => ({ vipId: 30 + i, serviceId: SVC_LOCAL, proto: 'tcp' as const, ...p })),
  ]);

/** One connection from `clientTo` (the address the client dials) to a server in `srv`. */
async function open(srv: { port: number; accepted: Socket[] }, clientTo: string): Promise<Conn> {
  const n = srv.accepted.length;
  const client = connect(srv.port, clientTo);
  client.on('error', () => {});
  await once(client, 'connect');
  await waitFor(() => srv.accepted.length > n, { what: 'the connection accepted' });
  const server = srv.accepted[n]!;
  const v6 = clientTo.includes(':');
  const src = client.localAddress!;
  const sport = client.localPort!;
  const key = encodeFlowKey({
    src: addr16(src),
    dst: addr16(clientTo),
    sport,
    dport: srv.port,
    proto: P.IPPROTO_TCP,
    family: v6 ? FAMILY_V6 : FAMILY_V4,
  });
  const frame = flowFrame({
    family: v6 ? 6 : 4,
    proto: 'tcp',
    src,
    dst: clientTo,
    sport,
    dport: srv.port,
    flags: P.TCP_ACK,
  });
  return {
    client,
    server,
    key,
    record: () => assert.equal(dp.program.testRun({ data: frame }).retval, P.XDP_PASS),
    cached: () => dp.flowCacheSlot(key).some((e) => e.subarray(0, LAYOUTS.flow_key.size).equals(key)),
  };
}

/** No program has this id any more. */
function progGone(id: number): boolean {
  try {
    native().closeFd(native().progFdById(id));
    return false;
  } catch {
    return true;
  }
}

const has = (key: Buffer): boolean => dp.map('flows').lookup(key) !== null;

before(() => {
  mkdirSync(bpffs, { recursive: true });
  execMount(bpffs);
  dp = openTestbed({ pin: true, pinDir });
  reaper = KernelReaper.start(dp, { pinDir });
});

after(() => {
  reaper?.close();
  dp?.close();
  unmountUnder(bpffs);
  rmSync(bpffs, { recursive: true, force: true });
});

/** A bpffs of this file's own: pins that outlive a process, removed with it. */
function execMount(dir: string): void {
  assert.equal(
    spawnSync('mount', ['-t', 'bpf', 'bpf', dir], { stdio: 'inherit' }).status,
    0,
    `mount bpffs at ${dir}`,
  );
}

test('the kernel reaper runs on this kernel, linked and pinned beside the maps', () => {
  const pinned = BpfLink.openPinned(join(pinDir, REAPER_LINK_PIN));
  try {
    assert.equal(pinned.info().progId, reaper.program.id, 'the pin is this start’s link');
  } finally {
    pinned.close();
  }
});

for (const [how, end] of [
  ['the client’s FIN (the server side closes last)', (c: Conn) => c.client.end()],
  ['the server’s FIN (its socket goes to TIME_WAIT)', (c: Conn) => c.server.end()],
  ['an RST from the client', (c: Conn) => c.client.resetAndDestroy()],
] as const) {
  for (const [family, listenOn, dial] of [
    ['IPv4', LO4, LO4],
    ['IPv6', LO6, LO6],
    ['IPv4 on a dual-stack socket', '::', LO4],
  ] as const) {
    test(`${family}: ${how} takes the flow entry and its cached copies`, async (t) => {
      const srv = await listen(listenOn);
      t.after(() => srv.server.close());
      vipsWith([{ addr: dial, port: srv.port }]);
      const [conn, other] = [await open(srv, dial), await open(srv, dial)];
      t.after(() => {
        for (const s of [conn.client, conn.server, other.client, other.server]) s.destroy();
      });
      conn.record();
      other.record();
      assert.ok(has(conn.key) && conn.cached(), 'recorded and cached by the program');
      // the peer answers a FIN with its own, so both ends close (the passive side after the last ACK)
      conn.client.on('end', () => conn.client.end());
      conn.server.on('end', () => conn.server.end());
      const forgotten = reaper.counts.forgotten;
      end(conn);
      await waitFor(() => !has(conn.key), { what: 'the entry gone' });
      assert.equal(conn.cached(), false, 'no CPU still caches it');
      assert.ok(reaper.counts.forgotten > forgotten, 'counted');
      assert.ok(has(other.key), 'the other connection of the same client keeps its entry');
      const misses = dp.globalStats().flow_miss;
      conn.record();
      assert.equal(dp.globalStats().flow_miss, misses + 1n, 'a later packet of the flow misses');
    });
  }
}

test('an entry naming another host stays when a connection on its 5-tuple ends here', async (t) => {
  const srv = await listen(LO4);
  t.after(() => srv.server.close());
  vipsWith([{ addr: LO4, port: srv.port }]);
  const [remote, witness] = [await open(srv, LO4), await open(srv, LO4)];
  dp.map('flows').update(remote.key, encodeFlowVal({ instance: dp.instanceSlot(REMOTE.id), flags: 0 }));
  witness.record();
  remote.client.resetAndDestroy();
  await once(remote.client, 'close');
  witness.client.resetAndDestroy(); // after the first: its entry going says the first close was seen
  await waitFor(() => !has(witness.key), { what: 'the witness entry gone' });
  assert.ok(has(remote.key), 'the entry naming the remote instance stays');
  for (const s of srv.accepted) s.destroy();
});

test('a connection on the same 5-tuple ending in another namespace leaves this one’s entry', async (t) => {
  const ns: Netns = createNetns(prefix, 'other');
  t.after(() => removeNetnsByPrefix(prefix));
  // in the other namespace: a server and a client on 127.0.0.1, the client's port printed, then an RST
  const script = `
    const net = require('node:net');
    const srv = net.createServer((s) => s.on('error', () => {})).listen(0, '127.0.0.1', () => {
      const c = net.connect(srv.address().port, '127.0.0.1', () => {
        process.stdout.write(JSON.stringify({ sport: c.localPort, dport: srv.address().port }) + '\\n');
        process.stdin.once('data', () => { c.resetAndDestroy(); c.on('close', () => process.exit(0)); });
      });
    });`;
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.after(() => child.kill());
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const { sport, dport } = JSON.parse(line.toString()) as { sport: number; dport: number };
  const key = encodeFlowKey({
    src: addr16(LO4),
    dst: addr16(LO4),
    sport,
    dport,
    proto: P.IPPROTO_TCP,
    family: FAMILY_V4,
  });
  dp.map('flows').update(key, encodeFlowVal({ instance: dp.instanceSlot('a/web'), flags: 0 }));
  child.stdin!.write('go\n');
  await once(child, 'exit');
  // a witness here, closed after: its entry going says this namespace's closes were seen since
  const srv = await listen(LO4);
  t.after(() => srv.server.close());
  vipsWith([{ addr: LO4, port: srv.port }]);
  const witness = await open(srv, LO4);
  witness.record();
  witness.client.resetAndDestroy();
  await waitFor(() => !has(witness.key), { what: 'the witness entry gone' });
  assert.ok(has(key), 'the entry stays: that connection was another namespace’s');
  dp.map('flows').delete(key);
  for (const s of srv.accepted) s.destroy();
});

test('the pinned reaper goes on without its process, a new start replaces it, removing the pin stops it', async (t) => {
  const srv = await listen(LO4);
  t.after(() => srv.server.close());
  vipsWith([{ addr: LO4, port: srv.port }]);
  const endOne = async (expectGone: boolean): Promise<void> => {
    const [c, witness] = [await open(srv, LO4), await open(srv, LO4)];
    c.record();
    c.client.resetAndDestroy();
    if (expectGone) {
      await waitFor(() => !has(c.key), { what: 'the entry gone' });
      witness.client.destroy();
      return;
    }
    await waitFor(() => c.server.destroyed, { what: 'the server side reset' });
    assert.ok(has(c.key), 'no reaper: the entry stays');
    dp.map('flows').delete(c.key);
    witness.client.destroy();
  };
  const first = reaper.linkInfo();
  reaper.close(); // the agent's process stops: the pinned link stays
  await endOne(true);
  reaper = KernelReaper.start(dp, { pinDir }); // the next start
  const second = reaper.linkInfo();
  assert.notEqual(second.id, first.id, 'a new link');
  const pinned = BpfLink.openPinned(join(pinDir, REAPER_LINK_PIN));
  assert.equal(pinned.info().progId, second.progId, 'pinned in place of the first');
  pinned.close();
  assert.equal(existsSync(join(pinDir, `${REAPER_LINK_PIN}_swap`)), false);
  await endOne(true);
  reaper.close();
  removeReaperPin(pinDir);
  // the link goes once the pin's inode is freed (after an RCU grace period), the program with it
  await waitFor(() => progGone(second.progId), { what: 'the unpinned reaper program gone' });
  await endOne(false);
  reaper = KernelReaper.start(dp, { pinDir });
});

test('where the kernel refuses the program, the listener reaps instead (said once)', async (t) => {
  const refused: Error[] = [];
  const listener = startFlowReaper(dp, {
    reaperObject: join(projectRoot(), 'build/bpf/test_reject.bpf.o'),
    onFallback: (err) => refused.push(err),
  });
  t.after(() => listener.close());
  assert.equal(listener.kind, 'listener');
  assert.equal(refused.length, 1);
  const srv = await listen(LO4);
  t.after(() => srv.server.close());
  vipsWith([{ addr: LO4, port: srv.port }]);
  const { progId } = reaper.linkInfo();
  reaper.close(); // only the listener now
  removeReaperPin(pinDir);
  await waitFor(() => progGone(progId), { what: 'the unpinned reaper program gone' });
  const c = await open(srv, LO4);
  c.record();
  c.client.resetAndDestroy();
  await waitFor(() => !has(c.key) && listener.counts.forgotten === 1, { what: 'the listener forgot it' });
  assert.equal(c.cached(), false, 'and no CPU still caches it');
  for (const s of srv.accepted) s.destroy();
  reaper = KernelReaper.start(dp, { pinDir });
});
