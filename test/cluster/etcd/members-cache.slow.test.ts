// The members cache (src/cluster/etcd/members-cache.ts) against a real etcd (test/helpers/etcd-single.ts),
// stopped for the restart: an agent restarted while etcd is away rings the members it last read from
// the store instead of its local instance alone. The file's parsing: members-cache.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type EtcdSingle, startEtcdSingle } from '../../helpers/etcd-single.js';
import { waitFor } from '../../helpers/wait-for.js';
import { startHost, type TestHost } from './agent-host.js';

let etcd: EtcdSingle;
let dir: string;
const stops: (() => Promise<unknown>)[] = [];

before(async () => {
  etcd = await startEtcdSingle();
  dir = mkdtempSync(join(tmpdir(), 'etcdc-cache-'));
});
after(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  await etcd.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Two hosts a and b ringing each other; a is stopped, etcd is stopped, a starts again. */
async function restartWhileStoreAway(prefix: string, cache: boolean): Promise<string[]> {
  const opts = (node: string) => ({
    prefix,
    graceTime: '1s',
    ...(cache ? { membersCache: join(dir, `${prefix.slice(1)}-${node}.json`) } : {}),
  });
  const keep = async (h: Promise<TestHost>) => {
    const host = await h;
    stops.push(host.stop);
    return host;
  };
  const a = await startHost('a', 31, etcd.endpoint, opts('a'));
  const b = await keep(startHost('b', 32, etcd.endpoint, opts('b')));
  await waitFor(() => [a, b].every((h) => h.ring('new').join() === 'a,b'), {
    timeoutMs: 10_000,
    what: 'both hosts ring a,b',
  });
  await a.stop();
  await etcd.stop();
  try {
    const again = await keep(startHost('a', 31, etcd.endpoint, { ...opts('a'), storeAway: true }));
    await waitFor(() => again.agent.status().services[0]!.settled, {
      timeoutMs: 10_000,
      what: 'a settled at grace_time with the store away',
    });
    await again.agent.idle();
    return again.ring('new');
  } finally {
    await etcd.start();
  }
}

test('an agent restarted while etcd is away rings the members it last saw, not itself alone', async () => {
  assert.deepEqual(await restartWhileStoreAway('/cache-off', false), ['a'], 'no cache: itself alone');
  assert.deepEqual(await restartWhileStoreAway('/cache-on', true), ['a', 'b'], 'the cached b kept');
});
