// The etcd backend's registration and watch against a real etcd (one local member, test/helpers/
// etcd-single.ts): only state changes are writes (counted in store revisions), three agents' code in one
// process builds the same ring digest at the same revision, hostile values are skipped and counted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { compareDigests, readDigests } from '../../../src/cluster/etcd/agreement.js';
import { makeClient } from '../../../src/cluster/etcd/client.js';
import { Fleet } from '../../../src/cluster/etcd/fleet.js';
import { EtcdNode } from '../../../src/cluster/etcd/node.js';
import { type EtcdSingle, startEtcdSingle } from '../../helpers/etcd-single.js';
import { waitFor } from '../../helpers/wait-for.js';
import { record } from './records.js';

let etcd: EtcdSingle;
let client: Etcd3;
const nodes: EtcdNode[] = [];

before(async () => {
  etcd = await startEtcdSingle();
  client = makeClient({ endpoints: [etcd.endpoint] });
});
after(async () => {
  for (const n of nodes) await n.close(true);
  client.close();
  await etcd.close();
});

async function node(name: string, prefix: string): Promise<EtcdNode> {
  const n = new EtcdNode({
    client,
    prefix,
    node: name,
    leaseTtlMs: 10_000,
    ringSize: 65_537,
    drainTimeMs: () => 30_000,
  });
  nodes.push(n);
  await n.start();
  return n;
}

const storeRevision = async (): Promise<number> =>
  Number((await client.getAll().prefix('/').limit(1).exec()).header.revision);

test('registration writes only when the state changes (store revisions counted)', async () => {
  const n = await node('h1', '/t/writes');
  n.register('web', 'h1', record('h1', 11));
  await n.keys.settled();
  const r0 = await storeRevision();
  for (let i = 0; i < 20; i++) n.register('web', 'h1', record('h1', 11)); // 20 health rounds, same state
  await n.keys.settled();
  assert.equal(await storeRevision(), r0, 'unchanged state wrote nothing');
  n.register('web', 'h1', record('h1', 11, { state: 'drained', new: false }));
  await n.keys.settled();
  assert.equal(await storeRevision(), r0 + 1, 'one change, one write');
  assert.equal(n.counters().writes, 2);
  const lease = await client.get('/t/writes/instances/web/h1').exec();
  assert.equal(lease.kvs[0]!.lease, n.keys.leaseId, 'the key is attached to the agent lease');
});

test('three agents build identical ring digests at the same revision, and the check agrees', async () => {
  const prefix = '/t/digest';
  const [a, b, c] = [await node('h1', prefix), await node('h2', prefix), await node('h3', prefix)];
  a.register('web', 'h1', record('h1', 11));
  b.register('web', 'h2', record('h2', 12, { weight: 2 }));
  c.register('web', 'h3', record('h3', 13));
  c.register('api', 'h3', record('h3', 13));
  await Promise.all([a, b, c].map((n) => n.keys.settled()));
  const instanceRev = (n: EtcdNode, id: string, service = 'web'): number =>
    n.keys.revisionOf(n.layout.instance(service, id));
  const rev = Math.max(
    instanceRev(a, 'h1'),
    instanceRev(b, 'h2'),
    instanceRev(c, 'h3'),
    instanceRev(c, 'h3', 'api'),
  );
  await waitFor(() => [a, b, c].every((n) => n.revision >= rev), {
    what: 'every agent at the last revision',
  });
  assert.deepEqual(
    [a, b, c].map((n) => n.membership.ring('web', 'new').map((m) => `${m.id}*${m.weight}`)),
    [
      ['h1*1', 'h2*2', 'h3*1'],
      ['h1*1', 'h2*2', 'h3*1'],
      ['h1*1', 'h2*2', 'h3*1'],
    ],
  );
  const digests = [a, b, c].map((n) => n.digests());
  assert.deepEqual(digests[1], digests[0]);
  assert.deepEqual(digests[2], digests[0]);
  b.register('web', 'h2', record('h2', 12, { weight: 2, state: 'drained', new: false }));
  await b.keys.settled();
  const drainRev = instanceRev(b, 'h2');
  await waitFor(() => [a, b, c].every((n) => n.revision >= drainRev));
  assert.notEqual(a.digest('web'), digests[0]!.web, 'a drain changes the digest');
  assert.deepEqual(
    a.membership.ring('web', 'new').map((m) => m.id),
    ['h1', 'h3'],
  );
  assert.deepEqual(
    a.membership.ring('web', 'established').map((m) => m.id),
    ['h1', 'h2', 'h3'],
  );
  assert.equal(b.digest('web'), a.digest('web'));
  assert.equal(c.digest('web'), a.digest('web'));
  // each agent writes its digests once quiet; the check reads them all
  const { hosts } = await waitFor(async () => {
    const r = await readDigests(client, a.layout);
    return r.hosts.length === 3 && r.hosts.every((h) => h.revision >= drainRev) ? r : null;
  });
  const rows = compareDigests(hosts);
  assert.deepEqual(
    rows.map((r) => [r.service, r.agree]),
    [
      ['api', true],
      ['web', true],
    ],
  );
  assert.deepEqual(Object.keys(rows[1]!.digests), [a.digest('web')]);
});

test('hostile values are skipped and counted, never thrown; the instance they name leaves the set', async () => {
  const prefix = '/t/hostile';
  const n = await node('h1', prefix);
  await client.put(`${prefix}/instances/web/h2`).value(JSON.stringify(record('h2', 12)));
  await client.put(`${prefix}/instances/web/big`).value(`{"x":"${'a'.repeat(4096)}"}`);
  await client.put(`${prefix}/instances/web/nojson`).value('{not json');
  await client.put(`${prefix}/instances/web/bad`).value(JSON.stringify({ ...record('h9', 9), weight: 1e9 }));
  await client
    .put(`${prefix}/instances/web/addr`)
    .value(JSON.stringify({ ...record('h9', 9), host: { ipv4: 'x' } }));
  await client.put(`${prefix}/instances/web/h3/extra`).value('{}');
  await client.put(`${prefix}/instances/we b/h4`).value(JSON.stringify(record('h4', 14)));
  await client.put(`${prefix}/drains/web/h2`).value('[]');
  await waitFor(() => n.counters().skipped['bad-key'] >= 2 && n.counters().skipped.invalid >= 3);
  assert.deepEqual(n.counters().skipped, {
    'too-big': 1,
    'not-json': 1,
    invalid: 3,
    'bad-key': 2,
    'too-many': 0,
  });
  assert.deepEqual(
    n.membership.members('web').map((m) => m.id),
    ['h2'],
  );
  assert.equal(n.drained('web', 'h2'), false);
  // a good record turned bad: the instance leaves
  await client.put(`${prefix}/instances/web/h2`).value('"garbage"');
  await waitFor(() => n.membership.ring('web', 'new').length === 0, { what: 'h2 out of new' });
  assert.deepEqual(
    n.membership.members('web').map((m) => [m.id, m.departing]),
    [['h2', true]],
  );
});

test('a simulated fleet (the scale bench API): 20 agents, one drain reaches every membership', async () => {
  const fleet = await Fleet.start({
    endpoints: [etcd.endpoint],
    prefix: '/t/fleet',
    size: 20,
    agentsPerClient: 10,
  });
  try {
    const w = fleet.agents[7]!;
    // measure resolves once every agent's membership holds the drain (it throws after its own timeout
    // otherwise); how fast is the scale bench's figure, not a bound here
    const ms = await fleet.measure(w, () => w.set({ state: 'drained', new: false }));
    assert.equal(ms.length, 20);
    for (const a of fleet.agents)
      assert.ok(
        !a.node.membership.ring('web', 'new').some((m) => m.id === w.instance),
        `${a.instance} still has ${w.instance} in its new ring`,
      );
    const digests = new Set(fleet.agents.map((a) => a.node.digest('web')));
    assert.equal(digests.size, 1, 'one digest across the fleet');
    assert.equal(fleet.agents[0]!.node.membership.ring('web', 'new').length, 19);
    assert.equal(fleet.counters().writes, 21, 'one registration each, one drain');
  } finally {
    await fleet.close();
  }
});
