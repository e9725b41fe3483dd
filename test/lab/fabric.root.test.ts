// The lab fabric end to end, with BIRD standing in for the hosts' BGP speakers: every session
// Established; the VIP (IPv4 and IPv6) at all three hosts in both ToRs' FIBs and in the spine's
// FIB (one nexthop per ToR) and BGP table (one path per host per ToR); client connections spread
// over the three hosts; a host's withdrawal (SIGTERM and SIGKILL) leaves both ToRs and the spine in
// well under a second, traffic follows; a rejoin converges; with one ToR down every host's default
// and the spine's route keep the other ToR and the VIP still answers from all three hosts. Always
// tears down, and checks it did.

import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { AS_HOST, HOSTS, type HostName, TORS } from '../../lab/addressing.js';
import type { VipView, WithdrawalTimes } from '../../lab/fabric-checks.js';
import { type FabricReport, PROBE_CONNECTIONS, runFabricScenario } from '../../lab/fabric-scenario.js';
import { listNamespaces } from '../../lab/netns.js';
import type { ProbeResult } from '../../lab/probe.js';
import { pidAlive } from '../../lab/processes.js';
import { buildLab, type Lab } from '../../lab/topology.js';

/** Every session counted from the routers' side: spine 2 ToRs × 2 families, each ToR (spine + 3 hosts) × 2. */
const ROUTER_SESSIONS = 2 * 2 + 2 * (1 + 3) * 2;
/** A withdrawal by a stopped speaker must reach both ToRs and the spine well inside one hold time (3 s). */
const WITHDRAWAL_BOUND_MS = 1_000;
/** Each host must get at least this share of connections (expected 1/3; a polarized ECMP gives 1/6). */
const MIN_SHARE = 0.2;

let lab: Lab | undefined;
let report: FabricReport;
let pids: number[] = [];

before(async () => {
  lab = await buildLab({ log: (l) => process.stderr.write(`${l}\n`) });
  report = await runFabricScenario(lab, (l) => process.stderr.write(`${l}\n`));
  pids = lab.procs.list().map((p) => p.pid);
});

after(() => {
  if (!lab) return;
  const prefix = lab.prefix;
  lab.teardown();
  assert.deepEqual(
    listNamespaces().filter((n) => n.startsWith(prefix)),
    [],
    'no namespace of the run is left',
  );
  assert.deepEqual(pids.filter(pidAlive), [], 'every process the lab started has exited');
  assert.deepEqual(
    readdirSync('/var/run/frr').filter((d) => d.startsWith(prefix)),
    [],
    "FRR's per-namespace directories are gone",
  );
  assert.equal(existsSync(lab.dir), false, 'the run directory is gone');
});

function assertVipAt(view: VipView, hosts: readonly HostName[]): void {
  for (const f of [4, 6] as const) {
    for (const tor of TORS) assert.deepEqual(view.tor[tor][f], [...hosts].sort(), `${tor} FIB, IPv${f}`);
    assert.equal(view.spineFib[f].length, TORS.length, `spine FIB: one nexthop per ToR, IPv${f}`);
    assert.deepEqual(
      new Set(view.spineFib[f].map((n) => n.dev)),
      new Set(['dn1', 'dn2']),
      `spine FIB points at both ToRs, IPv${f}`,
    );
    const origins = hosts.flatMap((h) => [AS_HOST[h], AS_HOST[h]]).sort();
    assert.deepEqual(view.spinePathOrigins[f], origins, `spine BGP: each host via each ToR, IPv${f}`);
  }
}

function assertSpread(r: ProbeResult, hosts: readonly HostName[], what: string): void {
  assert.equal(r.failures, 0, `${what}: no failed connection (${r.firstError ?? ''})`);
  assert.deepEqual(
    Object.keys(r.counts).sort(),
    [...hosts].sort(),
    `${what}: answered by exactly these hosts`,
  );
  for (const h of hosts) {
    assert.ok(
      (r.counts[h] ?? 0) >= (MIN_SHARE * PROBE_CONNECTIONS * 3) / hosts.length,
      `${what}: ${h} got ${r.counts[h]} of ${PROBE_CONNECTIONS}`,
    );
  }
}

function assertWithdrawn(w: WithdrawalTimes, what: string): void {
  for (const where of ['tor1', 'tor2', 'spineBgp'] as const) {
    for (const f of [4, 6] as const) {
      assert.ok(w[where][f] < WITHDRAWAL_BOUND_MS, `${what}: ${where} IPv${f} after ${w[where][f]} ms`);
    }
  }
}

test('every BGP session is Established', () => {
  assert.equal(report.sessions.length, ROUTER_SESSIONS);
  for (const s of report.sessions)
    assert.equal(s.state, 'Established', `${s.router}→${s.peer} IPv${s.family}`);
});

test('the VIP converges at both ToRs (3 hosts each) and at the spine (2 ToRs, 6 BGP paths), IPv4 and IPv6', () => {
  assertVipAt(report.converged, HOSTS);
});

test('client connections spread over the three hosts (TCP, UDP, HTTP; IPv4 and IPv6)', () => {
  for (const [name, r] of Object.entries(report.spread)) assertSpread(r, HOSTS, name);
  assert.equal(Object.keys(report.spread).length, 6);
});

test('a host whose speaker stops (SIGTERM) leaves both ToRs and the spine within a second; traffic follows', () => {
  assertWithdrawn(report.gracefulWithdrawal, 'SIGTERM');
  assertVipAt(report.afterGraceful, ['h1', 'h3']);
  assertSpread(report.spreadWithoutH2, ['h1', 'h3'], 'tcp4 without h2');
});

test('a rejoining host is back everywhere, and a killed speaker (SIGKILL) is withdrawn as fast', () => {
  assert.ok(report.rejoinMs < 10_000, `rejoin took ${report.rejoinMs} ms`);
  assertWithdrawn(report.abruptWithdrawal, 'SIGKILL');
  assertVipAt(report.afterAbrupt, ['h1', 'h2']);
});

test('multihoming: with tor2 down every default and the spine use tor1, and all three hosts still answer', () => {
  for (const h of HOSTS) {
    for (const f of [4, 6] as const)
      assert.deepEqual(report.torDown.hostDefaults[h][f], ['up1'], `${h} default, IPv${f}`);
  }
  for (const f of [4, 6] as const) {
    assert.deepEqual(
      report.torDown.spineFib[f].map((n) => n.dev),
      ['dn1'],
      `spine FIB, IPv${f}`,
    );
    assert.deepEqual(report.torDown.survivor[f], [...HOSTS], `tor1 FIB, IPv${f}`);
  }
  assertSpread(report.spreadTorDown, HOSTS, 'tcp6 with tor2 down');
  assert.ok(report.torBackMs < 10_000, `tor2 back after ${report.torBackMs} ms`);
});
