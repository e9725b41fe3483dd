// Three agents on the etcd backend in one process (the real Agent and EtcdCluster against a real etcd;
// the agents' BGP, lo, data plane and health are the recording fakes of test/agent/fakes.ts): no host's
// config lists another instance, yet every host's rings hold all three, with one digest; a drain written
// from h1 for h3 is honoured by h3's agent, and every host's `new` ring drops h3 while `established`
// keeps it until h3's own drain ends; a fourth host joins with no change on the others.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AnycastdMetrics } from '../../../src/metrics/metrics.js';
import { type EtcdSingle, startEtcdSingle } from '../../helpers/etcd-single.js';
import { waitFor } from '../../helpers/wait-for.js';
import { configText, startHost } from './agent-host.js';

let etcd: EtcdSingle;
const stops: (() => Promise<unknown>)[] = [];

before(async () => {
  etcd = await startEtcdSingle();
});
after(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  await etcd.close();
});

/** One host's agent (agent-host.ts), stopped with the test file. */
async function host(node: string, octet: number, prefix = '/agents/f1') {
  const h = await startHost(node, octet, etcd.endpoint, { prefix });
  stops.push(h.stop);
  return h;
}

test('no config lists another host, yet every host rings all of them; a drain from anywhere', async () => {
  const hosts = [await host('h1', 11), await host('h2', 12), await host('h3', 13)];
  await waitFor(() => hosts.every((h) => h.ring('new').join() === 'h1,h2,h3'), {
    timeoutMs: 10_000,
    what: 'every host rings h1,h2,h3',
  });
  assert.ok(hosts.every((h) => h.ring('established').join() === 'h1,h2,h3'));
  await waitFor(
    async () => {
      const rows = await hosts[0]!.cluster.agreement();
      return rows.length === 1 && rows[0]!.agree && Object.values(rows[0]!.digests)[0]!.length === 3;
    },
    { what: 'the three digests written and equal' },
  );
  const [h1, , h3] = hosts as [(typeof hosts)[0], (typeof hosts)[0], (typeof hosts)[0]];
  // the operator's view on h1: instances with their leases and revisions, rings with the digest check
  const api = h1.api;
  const instances = (await api.instances({ service: 'web' })).instances;
  assert.deepEqual(
    instances.map((i) => [i.id, i.address, i.registered, i.departing, i.health]),
    [
      ['h1', '192.0.2.11', 'up', false, 'up'],
      ['h2', '192.0.2.12', 'up', false, 'up'],
      ['h3', '192.0.2.13', 'up', false, 'up'],
    ],
  );
  assert.ok(instances.every((i) => i.lease !== '' && (i.leaseTtl ?? 0) > 0 && (i.revision ?? 0) > 0));
  const rings = await api.rings({ service: 'web' });
  assert.equal(rings.digests?.[0]?.agree, true);
  assert.equal(rings.digests?.[0]?.hosts.length, 3);
  const metrics = new AnycastdMetrics({ etcd: () => h1.cluster.snapshot() }, { version: 't', node: 'h1' });
  const text = await metrics.text();
  const digest = h1.cluster.node.digest('web');
  assert.ok(text.includes(`anycastd_cluster_ring_digest_info{service="web",digest="${digest}"} 1`), text);
  assert.match(text, /anycastd_cluster_etcd_connected 1/);
  assert.match(text, /anycastd_cluster_etcd_writes_total [1-9]/);
  // a drain of h3 written from h1 (anycastd drain web --instance h3)
  assert.deepEqual(await api.drain({ service: 'web', instance: 'h3' }), {
    changed: true,
    message: 'web/h3 drain written to etcd',
  });
  await waitFor(() => h3.health.made.get('web')!.drainFlag, { what: "h3's agent honours the drain key" });
  await waitFor(() => hosts.every((h) => h.ring('new').join() === 'h1,h2'), {
    timeoutMs: 10_000,
    what: 'h3 out of every new ring',
  });
  assert.ok(
    hosts.every((h) => h.ring('established').join() === 'h1,h2,h3'),
    'established keeps h3 while its drain runs',
  );
  await waitFor(() => hosts.every((h) => h.ring('established').join() === 'h1,h2'), {
    timeoutMs: 10_000,
    what: 'h3 out of established once its drain time is over',
  });
  const digests = new Set(hosts.map((h) => h.cluster.node.digest('web')));
  assert.equal(digests.size, 1);
  await api.undrain({ service: 'web', instance: 'h3' });
  await waitFor(() => hosts.every((h) => h.ring('new').join() === 'h1,h2,h3'), {
    timeoutMs: 10_000,
    what: 'h3 back after the undrain',
  });
  const h4 = await host('h4', 14);
  await waitFor(() => [...hosts, h4].every((h) => h.ring('new').join() === 'h1,h2,h3,h4'), {
    timeoutMs: 10_000,
    what: 'h4 joined with no edit on the others',
  });
});

test("a reload that rebuilds a drained host's checks keeps the store's drain; HEALTH of the others as registered", async () => {
  const prefix = '/agents/f2';
  const a = await host('a', 21, prefix);
  const b = await host('b', 22, prefix);
  await waitFor(() => [a, b].every((h) => h.ring('new').join() === 'a,b'), {
    timeoutMs: 10_000,
    what: 'both hosts ring a,b',
  });
  await a.api.drain({ service: 'web', instance: 'b' });
  await waitFor(() => a.ring('new').join() === 'a', { timeoutMs: 10_000, what: 'b drained, out of new' });
  const health = async (h: typeof a) =>
    Object.fromEntries((await h.api.instances({ service: 'web' })).instances.map((i) => [i.id, i.health]));
  assert.deepEqual(await health(a), { a: 'up', b: 'drained' }, "a shows b's own word, not unknown");
  // b's checks rebuilt by a reload (a changed interval): the drain key is still there, so b stays drained
  const checks = b.health.made.get('web')!;
  b.files.set(b.file, configText('b', 22, etcd.endpoint, { prefix, interval: '2s' }));
  assert.equal((await b.agent.reload()).ok, true);
  const rebuilt = b.health.made.get('web')!;
  assert.notEqual(rebuilt, checks, 'new checkers');
  assert.equal(rebuilt.drainFlag, true, 'the drain flag carried into the new checkers');
  rebuilt.set('b', 'up', 'rise-reached');
  await waitFor(() => b.agent.status().services[0]!.settled, { what: 'b settled again' });
  await b.agent.idle();
  assert.equal(b.agent.status().services[0]!.drained, true);
  assert.deepEqual(await health(b), { a: 'up', b: 'drained' });
  assert.equal(a.ring('new').join(), 'a', 'b never came back into new');
  await a.api.undrain({ service: 'web', instance: 'b' });
  await waitFor(() => [a, b].every((h) => h.ring('new').join() === 'a,b'), {
    timeoutMs: 10_000,
    what: 'b back after the undrain',
  });
});
