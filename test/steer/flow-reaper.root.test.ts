// The flow reaper on the real kernel: connections to a VIP on 127.0.0.1 (a service of the test bed's
// local instance), their flow entries recorded by the program itself, then the connections closed —
// the kernel's socket-destroy broadcast removes the entry that names the local instance (and the
// flow_cache slot the program cached it in), and leaves one that names another host.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { addr16 } from '../../src/steer/addr.js';
import { FlowReaper } from '../../src/steer/flow-reaper.js';
import { encodeFlowKey, encodeFlowVal, FAMILY_V4, LAYOUTS } from '../../src/steer/layout.js';
import * as P from '../../src/steer/proto.js';
import { waitFor } from '../helpers/wait-for.js';
import { flowFrame } from './packets.js';
import { openTestbed, REMOTE, SVC_LOCAL, VIPS } from './setup.js';

const LO = '127.0.0.1';

test('a connection that ends here takes its flow entry (and cached copy) with it; an entry naming another host stays', async (t) => {
  const dp = openTestbed();
  const accepted: Socket[] = [];
  const server = createServer((s) => {
    accepted.push(s);
    s.on('error', () => {});
  });
  t.after(() => {
    server.close();
    dp.close();
  });
  server.listen(0, LO);
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  dp.setVips([...Object.values(VIPS), { vipId: 30, serviceId: SVC_LOCAL, addr: LO, proto: 'tcp', port }]);
  const [a, b] = [connect(port, LO), connect(port, LO)];
  await Promise.all([once(a, 'connect'), once(b, 'connect')]);
  await waitFor(() => accepted.length === 2, { what: 'both connections accepted' });
  const ports = new Map([a, b].map((s) => [s, s.localPort as number])); // gone once destroyed
  const keyOf = (s: Socket) =>
    encodeFlowKey({
      src: addr16(LO),
      dst: addr16(LO),
      sport: ports.get(s)!,
      dport: port,
      proto: P.IPPROTO_TCP,
      family: FAMILY_V4,
    });
  const frame = (s: Socket) =>
    flowFrame({
      family: 4,
      proto: 'tcp',
      src: LO,
      dst: LO,
      sport: s.localPort as number,
      dport: port,
      flags: P.TCP_ACK,
    });
  // a: recorded by the program (a miss of the local ring), and cached on the CPU that ran it
  assert.equal(dp.program.testRun({ data: frame(a) }).retval, P.XDP_PASS);
  const cachedA = () =>
    dp.flowCacheSlot(keyOf(a)).some((e) => e.subarray(0, LAYOUTS.flow_key.size).equals(keyOf(a)));
  assert.ok(cachedA(), 'the program cached a in the slot hashFlowSlot names');
  // b: an entry naming the remote instance (as the second chance writes when this socket is stale)
  dp.map('flows').update(keyOf(b), encodeFlowVal({ instance: dp.instanceSlot(REMOTE.id), flags: 0 }));

  const reaper = FlowReaper.start(dp);
  t.after(() => reaper.close());
  for (const s of [a, b, ...accepted]) s.destroy();
  await waitFor(() => reaper.counts.seen >= 2 && dp.map('flows').lookup(keyOf(a)) === null, {
    what: "both destroys seen and a's entry gone",
  });
  assert.equal(dp.map('flows').lookup(keyOf(a)), null, "a's entry is gone");
  assert.equal(cachedA(), false, 'and no CPU still caches it');
  assert.ok(dp.map('flows').lookup(keyOf(b)), "b's entry, naming another host, stays");
  assert.equal(reaper.counts.forgotten, 1);
  const stats = dp.globalStats();
  dp.program.testRun({ data: frame(a) });
  assert.equal(dp.globalStats().flow_miss, stats.flow_miss + 1n, 'a later packet of a misses');
});
