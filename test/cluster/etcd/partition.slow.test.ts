// Leases and partitions against a real etcd: an agent whose lease expires leaves `new` at once and stays
// in `established` for drain_time (the watcher's own timer, on a fake clock); with etcd stopped every
// agent keeps the membership it had; when etcd returns (renewing its leases for one TTL) the agents keep
// their old leases alive and converge, the other agent's rings never losing the instance (no flap). Slow tier: etcd's leases run on
// its own real time (a TTL to expire, an outage seen after 2 × TTL), ~20 s of waiting in all.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import type { Clock } from '../../../src/clock.js';
import { makeClient } from '../../../src/cluster/etcd/client.js';
import { EtcdNode } from '../../../src/cluster/etcd/node.js';
import { type EtcdSingle, startEtcdSingle } from '../../helpers/etcd-single.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { waitFor } from '../../helpers/wait-for.js';
import { record } from './records.js';

const TTL_MS = 3_000;
const DRAIN_MS = 30_000;
/** etcd's TTL of a lease that has expired (LeaseTimeToLive). */
const LEASE_GONE = -1;
let etcd: EtcdSingle;
const clients: Etcd3[] = [];
const nodes: EtcdNode[] = [];

before(async () => {
  etcd = await startEtcdSingle();
});
after(async () => {
  for (const n of nodes) await n.close(true).catch(() => undefined);
  for (const c of clients) c.close();
  await etcd.close();
});

/** An agent's node with a client of its own (so its keepalives can stop alone). */
async function agent(name: string, prefix: string, clock?: Clock): Promise<EtcdNode> {
  const client = makeClient({ endpoints: [etcd.endpoint] });
  clients.push(client);
  const n = new EtcdNode({
    client,
    prefix,
    node: name,
    leaseTtlMs: TTL_MS,
    ringSize: 65_537,
    drainTimeMs: () => DRAIN_MS,
    ...(clock ? { clock } : {}),
  });
  nodes.push(n);
  await n.start();
  return n;
}

const ids = (n: EtcdNode, kind: 'new' | 'established'): string[] =>
  n.membership.ring('web', kind).map((m) => m.id);

test('a lease that expires: out of new at once, in established for drain_time, then gone', async () => {
  const clock = new FakeClock();
  const a = await agent('h1', '/p/expiry', clock);
  const b = await agent('h2', '/p/expiry');
  a.register('web', 'h1', record('h1', 11));
  b.register('web', 'h2', record('h2', 12));
  await waitFor(() => ids(a, 'new').length === 2, { what: 'both registered' });
  await b.close(false); // the host dies: no revoke, its keepalives stop
  await waitFor(() => !ids(a, 'new').includes('h2'), { timeoutMs: 3 * TTL_MS, what: 'h2 out of new' });
  assert.deepEqual(ids(a, 'established'), ['h1', 'h2'], 'its flows keep their owner');
  const h2 = a.membership.members('web').find((m) => m.id === 'h2')!;
  assert.equal(h2.departing, true);
  await clock.advance(DRAIN_MS - 1);
  assert.deepEqual(ids(a, 'established'), ['h1', 'h2']);
  await clock.advance(1);
  assert.deepEqual(ids(a, 'established'), ['h1']);
  assert.deepEqual(
    a.membership.members('web').map((m) => m.id),
    ['h1'],
  );
});

test('etcd stopped: membership kept; back: the same lease kept alive, converged, no flap', async () => {
  const a = await agent('h1', '/p/outage');
  const b = await agent('h2', '/p/outage');
  a.register('web', 'h1', record('h1', 11));
  b.register('web', 'h2', record('h2', 12));
  await waitFor(() => ids(a, 'new').length === 2 && ids(b, 'new').length === 2, { what: 'both registered' });
  const history: string[][] = [];
  a.on('changed', () => history.push(ids(a, 'new')));
  const leaseBefore = b.keys.leaseId;
  const h2Key = b.layout.instance('web', 'h2');
  const h2Written = b.keys.revisionOf(h2Key);
  const digest = a.digest('web');
  await etcd.stop();
  await waitFor(() => !a.connected && b.keys.leaseId === null, {
    timeoutMs: 4 * TTL_MS,
    what: 'etcd seen gone and the lease given up (2 × TTL)',
  });
  assert.deepEqual(ids(a, 'new'), ['h1', 'h2'], 'nothing leaves because the store is gone');
  assert.equal(a.digest('web'), digest);
  await etcd.start();
  // etcd renews the leases it had for one TTL after a restart: h2 keeps its lease (and its key, never
  // written again) alive, so nothing expires however late h2 finds the store back
  await waitFor(() => a.connected && b.keys.leaseId !== null, {
    timeoutMs: 6 * TTL_MS,
    what: 'h2 holds a lease again, h1 watches again',
  });
  assert.equal(b.keys.leaseId, leaseBefore, 'h2 kept the lease etcd still held');
  assert.equal(b.keys.leasesKept, 1);
  // kept alive: past twice the TTL etcd restored it with, etcd still holds it (an expired lease is gone)
  const ttlOf = async () => Number((await clients[0]!.leaseClient.leaseTimeToLive({ ID: leaseBefore! })).TTL);
  const since = performance.now();
  let ttl = await ttlOf();
  await waitFor(
    async () => {
      ttl = await ttlOf();
      return ttl === LEASE_GONE || performance.now() - since > 2 * TTL_MS;
    },
    { timeoutMs: 4 * TTL_MS, what: `lease ${leaseBefore} alive for 2 × TTL, or gone` },
  );
  assert.notEqual(ttl, LEASE_GONE, `lease ${leaseBefore} expired after the store's return`);
  assert.equal(b.keys.revisionOf(h2Key), h2Written, 'the kept key was not written again');
  assert.equal(a.membership.members('web').find((m) => m.id === 'h2')?.modRevision, h2Written);
  assert.deepEqual(ids(a, 'new'), ['h1', 'h2']);
  assert.equal(a.digest('web'), digest, 'the same rings as before the outage');
  assert.ok(
    history.every((h) => h.includes('h2')),
    `h2 never left h1's new ring: ${JSON.stringify(history)}`,
  );
  assert.equal(b.counters().leasesLost, 1);
});
