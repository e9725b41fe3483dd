// Fleet mode end to end: three real agents on the etcd backend (lab/etcd-steps.ts: a real 3-member etcd
// in namespaces, mutual TLS, no instance list in any config) under 100 held connections (ANYCASTD_E2E_
// CONNECTIONS for more; make bench does 1,000 and a 60 s outage). In order, on one lab: h4 joins by
// starting its agent with the etcd settings alone (h1–h3 untouched) and takes new flows; h4 leaves
// (SIGTERM); the etcd leader is killed; h2 is cut off etcd (not the fabric) past its lease TTL and
// healed; every etcd member is stopped for 8 s and started again. In each, 0 broken held connections of
// healthy instances (right after and once the grace and drain time passed) and every new connection
// answered. The time from h4's agent start to its first new flow is printed (the aim, 2 s, is not met on
// the loaded 2-core box: lab/README.md), not asserted.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  bringUpFleet,
  type FaultReport,
  type FleetLab,
  faultLine,
  joinNewHost,
  killEtcdLeader,
  LAB_LEASE_TTL_S,
  partitionFromEtcd,
  removeNewHost,
  stopAllEtcd,
} from '../../lab/etcd-steps.js';
import { heldConnections } from './limits.js';

const log = (l: string): void => void process.stderr.write(`${l}\n`);
/** h2 cut off etcd: past twice its lease TTL (it has expired at the store) and a second more. */
const CUT_MS = (2 * LAB_LEASE_TTL_S + 1) * 1000;
/** All of etcd away (make bench: 60 s). */
const OUTAGE_MS = 8_000;
/** 100 held here (the other e2e files hold 200; this one has five steps): ANYCASTD_E2E_CONNECTIONS overrides. */
const HELD = process.env.ANYCASTD_E2E_CONNECTIONS ? heldConnections() : 100;

let f: FleetLab | undefined;

before(async () => {
  f = await bringUpFleet(log);
});

after(() => f?.lab.teardown());

function assertKept(name: string, r: FaultReport): void {
  log(`e2e fleet ${name}: ${HELD} held; ${faultLine(name, r)}`);
  assert.equal(r.after.brokenHealthy, 0, `${name}: broken right after ${JSON.stringify(r.after.check)}`);
  assert.equal(r.settled.brokenHealthy, 0, `${name}: broken once settled ${JSON.stringify(r.settled.check)}`);
  assert.equal(r.newFlows.failures, 0, `${name}: new connections failed (${r.newFlows.firstError})`);
}

test('h4 joins with its etcd settings alone: h1–h3 untouched, 0 broken, h4 takes new flows', async () => {
  const r = await joinNewHost(f!, HELD);
  assertKept('join h4', r);
  assert.equal(r.detail.othersUntouched, true, "h1–h3's configs unchanged");
  assert.ok((r.newFlows.counts.h4 ?? 0) > 0, `h4 serves new flows: ${JSON.stringify(r.newFlows.counts)}`);
  assert.equal(r.detail.takeFailures, 0, 'no new connection failed while h4 started');
});

test('h4 leaves (SIGTERM): 0 broken among h1–h3, new flows no longer reach h4', async () => {
  const r = await removeNewHost(f!, HELD);
  assertKept('leave h4', r);
  assert.equal(r.newFlows.counts.h4 ?? 0, 0, `h4 gone: ${JSON.stringify(r.newFlows.counts)}`);
});

test('the etcd leader killed: a new leader, 0 broken', async () => {
  const r = await killEtcdLeader(f!, HELD);
  assertKept('kill etcd leader', r);
  assert.notEqual(r.detail.next, r.detail.old);
});

test('h2 cut off etcd (not the fabric) past its lease TTL, then healed: 0 broken, h2 still serves', async () => {
  const r = await partitionFromEtcd(f!, HELD, 'h2', CUT_MS);
  assertKept('partition h2 from etcd', r);
  assert.ok(
    (r.newFlows.counts.h2 ?? 0) > 0,
    `h2 kept its advertisement: ${JSON.stringify(r.newFlows.counts)}`,
  );
});

test('every etcd member stopped for 8 s and started again: 0 broken, every host serves', async () => {
  const r = await stopAllEtcd(f!, HELD, OUTAGE_MS);
  assertKept('etcd stopped', r);
  for (const h of ['h1', 'h2', 'h3'])
    assert.ok((r.newFlows.counts[h] ?? 0) > 0, `${h} serves during the outage`);
});
