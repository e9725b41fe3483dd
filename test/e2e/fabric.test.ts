// End to end with three real anycastd agents in the lab (lab/agents.ts), one lab for the file:
// convergence (the VIP of every host at both ToRs; each ToR's FIB 3 nexthops, the spine's FIB 2 — one
// per ToR — and its BGP table 6 paths, IPv4 and IPv6; every host ONE default route per family with
// two nexthops and the agent's route protocol); failure (h2's service killed → h2 leaves both ToRs,
// the run's p99 under 500 ms; held connections on h1 and h3 kept; new
// connections at a steady rate during the failover counted); multihoming (tor2 down → every host's
// default keeps up1 and the VIP still answers from every host).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HOSTS, TORS, VIP4, VIP6 } from '../../lab/addressing.js';
import { bringUp, failService, type UpReport } from '../../lab/agent-steps.js';
import { HostAgents } from '../../lab/agents.js';
import { runIn } from '../../lab/exec.js';
import { failTor, waitVipAt } from '../../lab/fabric-checks.js';
import { percentile } from '../../lab/fabric-scenario.js';
import { buildLab, type Lab } from '../../lab/topology.js';
import { DEFAULT_ROUTE_PROTOCOL } from '../../src/config/schema-bgp.js';
import { heldConnections } from './limits.js';

/**
 * The p99 of the run's withdrawal times (each ToR, each family) stays under this. Detection is the
 * listener watch (~5 ms after the kill), so the time is the agent's withdrawal plus the ToR's own work:
 * measured here p99 ~100 ms at tor1 (FRR) and ~36 ms at tor2 (BIRD), the design aims at < 120 ms. 500 ms
 * leaves ×4 for a busy 2-core box and stays below detection by the checks alone (fall 2 × 200 ms
 * interval + the 150 ms timeout ≈ 550 ms): a broken watch turns this red.
 */
const WITHDRAWAL_P99_MS = 500;
const P99 = 0.99;
const log = (l: string): void => void process.stderr.write(`${l}\n`);

let lab: Lab;
let agents: HostAgents;
let up: UpReport;

before(async () => {
  lab = await buildLab({ log });
  agents = new HostAgents(lab);
  up = await bringUp(lab, agents);
  log(`e2e: sessions ${Math.round(up.sessionsMs)} ms, VIP converged ${Math.round(up.convergeMs)} ms later`);
});

after(() => lab?.teardown());

test('convergence: every host at both ToRs; ToR FIBs 3 nexthops, spine FIB 2 and 6 BGP paths (IPv4 and IPv6)', () => {
  for (const f of [4, 6] as const) {
    for (const t of TORS) assert.deepEqual(up.view.tor[t][f], [...HOSTS], `${t} FIB v${f}`);
    assert.equal(up.view.spineFib[f].length, 2, `spine FIB v${f}: one nexthop per ToR`);
    assert.deepEqual(
      up.view.spinePathOrigins[f],
      [65101, 65101, 65102, 65102, 65103, 65103],
      `spine BGP v${f}`,
    );
  }
});

test("convergence: each host's kernel has ONE default route per family, two nexthops, the agent's protocol", () => {
  for (const h of HOSTS)
    for (const f of [4, 6] as const) {
      const routes = JSON.parse(runIn(lab.ns(h), 'ip', [`-${f}`, '-j', 'route', 'show', 'default'])) as {
        protocol: string | number;
        nexthops?: { dev: string }[];
        prefsrc?: string;
      }[];
      assert.equal(routes.length, 1, `${h} v${f}: ${JSON.stringify(routes)}`);
      const r = routes[0]!;
      assert.equal(String(r.protocol), String(DEFAULT_ROUTE_PROTOCOL), `${h} v${f} protocol`);
      assert.deepEqual(r.nexthops?.map((n) => n.dev).sort(), ['up1', 'up2'], `${h} v${f} nexthops`);
    }
});

test("failure: h2's service killed → h2 leaves both ToRs fast; held connections on h1, h3 kept; new ones counted", async () => {
  const held = heldConnections();
  const r = await failService(lab, 'h2', held);
  const w = r.withdrawal;
  log(
    `e2e failure: kill → gone from tor1 v4 ${Math.round(w.tor1[4])} v6 ${Math.round(w.tor1[6])} ms, tor2 v4 ` +
      `${Math.round(w.tor2[4])} v6 ${Math.round(w.tor2[6])} ms, spine BGP v4 ${Math.round(w.spineBgp[4])} ms; ` +
      `held ${JSON.stringify(r.kept.opened)}, broken on h1+h3 ${r.kept.brokenHealthy} ` +
      `(${JSON.stringify(r.kept.check.reasons)}), on h2 ${r.kept.brokenFailed}; new connections failed ` +
      `${r.steady.failures} of ${r.steady.attempts} (${r.steady.firstError ?? 'none'})`,
  );
  const times = TORS.flatMap((t) => [w[t][4], w[t][6]]);
  const p99 = percentile(times, P99);
  assert.ok(
    p99 < WITHDRAWAL_P99_MS,
    `withdrawal p99 ${Math.round(p99)} ms of ${times.map(Math.round).join(', ')}`,
  );
  const healthy = held - (r.kept.opened.h2 ?? 0);
  assert.ok(healthy > 0 && (r.kept.opened.h2 ?? 0) > 0, `held spread: ${JSON.stringify(r.kept.opened)}`);
  assert.equal(r.kept.brokenHealthy, 0, `broken on h1+h3: ${r.kept.brokenHealthy} of ${healthy}`);
  assert.equal(r.kept.check.alive.h2 ?? 0, 0, 'no connection can still be served by a killed service');
  assert.ok(r.steady.attempts - r.steady.failures > r.steady.attempts / 2, 'most new connections succeed');
  await agents.startService('h2');
  await waitVipAt(lab, HOSTS);
});

test("multihoming: tor2 down → each host's default keeps up1 only, the VIP answers from every host", async () => {
  const down = await failTor(lab, 'tor2');
  log(`e2e multihoming: everything through tor1 after ${Math.round(down.ms)} ms`);
  for (const h of HOSTS)
    for (const f of [4, 6] as const) assert.deepEqual(down.view.hostDefaults[h][f], ['up1']);
  for (const target of [VIP4, VIP6]) {
    const p = await lab.probe({ target, count: 150 });
    assert.equal(p.failures, 0, `${target}: ${p.firstError}`);
    for (const h of HOSTS) assert.ok((p.counts[h] ?? 0) > 0, `${target}: ${JSON.stringify(p.counts)}`);
  }
  await lab.startRouter('tor2');
  await waitVipAt(lab, HOSTS);
});
