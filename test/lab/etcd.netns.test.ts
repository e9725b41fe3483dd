// The lab's etcd store (lab/etcd.ts): a real 3-member etcd-server cluster, one namespace per member,
// mutual TLS. From a namespace attached to the management network as a lab host would be: a write is
// read back over mTLS; a client with no certificate, and one whose certificate another CA signed, are
// refused; the leader killed (SIGKILL), another member leads and writes go on; the old leader restarted
// catches up; a blocked management port cuts that namespace off etcd (and unblocking heals it); stop()
// leaves no namespace of the prefix.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MGMT_HOST4 } from '../../lab/addressing.js';
import { type EtcdCluster, startEtcdCluster } from '../../lab/etcd.js';
import { createNetns, listNamespaces, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';

const prefix = uniquePrefix('etcdl');
/** A leader killed: a new one within a few election timeouts (1 s each), generous for a loaded box. */
const NEW_LEADER_BOUND_MS = 10_000;

test('lab etcd: 3 members over mTLS, reachable from a host namespace, survives its leader', {
  timeout: 120_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acd-etcdl-'));
  let etcd: EtcdCluster | undefined;
  t.after(async () => {
    await etcd?.stop();
    removeNetnsByPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  });
  etcd = await startEtcdCluster({ prefix, dir });
  assert.equal(etcd.members.length, 3);
  assert.equal(etcd.running().length, 3);
  for (const m of etcd.members) assert.ok(m.pid > 0, `${m.name} has a pid`);

  const host = createNetns(prefix, 'h1');
  etcd.attach(host.name, 'h1', MGMT_HOST4.h1);
  const fromHost = { ns: host.name };
  await etcd.etcdctl(['put', 'anycastd/lab/k', 'v1'], fromHost);
  assert.equal(await etcd.etcdctl(['get', '--print-value-only', 'anycastd/lab/k'], fromHost), 'v1\n');

  await assert.rejects(
    etcd.etcdctl(['get', 'anycastd/lab/k'], { ...fromHost, tls: { caFile: etcd.tls.caFile } }),
    /certificate|deadline|handshake/i,
    'a client without a certificate is refused',
  );
  await assert.rejects(
    etcd.etcdctl(['get', 'anycastd/lab/k'], { ...fromHost, tls: etcd.pki.rogue }),
    'a rogue CA is refused',
  );

  const old = await etcd.leader();
  const killedAt = performance.now();
  await etcd.kill(old);
  assert.equal(etcd.member(old).pid, 0);
  const next = await etcd.leader();
  const electedMs = performance.now() - killedAt;
  assert.notEqual(next, old);
  assert.ok(electedMs < NEW_LEADER_BOUND_MS, `new leader after ${electedMs.toFixed(0)} ms`);
  await etcd.etcdctl(['put', 'anycastd/lab/k', 'v2'], fromHost);

  await etcd.startMember(old);
  const back = etcd.member(old);
  assert.equal(
    await etcd.etcdctl(['get', '--print-value-only', 'anycastd/lab/k'], {
      endpoints: [back.endpoint],
    }),
    'v2\n',
    'the restarted member caught up',
  );

  etcd.partition('h1', true);
  await assert.rejects(etcd.etcdctl(['get', 'anycastd/lab/k'], fromHost), 'cut off the management network');
  etcd.partition('h1', false);
  assert.equal(await etcd.etcdctl(['get', '--print-value-only', 'anycastd/lab/k'], fromHost), 'v2\n');
  console.log(`# leader ${old} killed → ${next} leads after ${electedMs.toFixed(0)} ms`);

  await etcd.stop();
  etcd = undefined;
  assert.deepEqual(
    listNamespaces().filter((n) => n.startsWith(`${prefix}etcd`)),
    [],
  );
});
