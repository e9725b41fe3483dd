// Connection keeping when ECMP moves but no instance fails (the lab scenario "shut one host's BGP
// sessions"), with three real anycastd agents and one lab for the file: N long-lived TCP connections to
// the VIP (200 in `make test`, ANYCASTD_E2E_CONNECTIONS=1000 for DESIGN.md's figure); h3's sessions are
// shut at both ToRs (FRR `neighbor shutdown`, BIRD `disable`) while its agent, service and XDP keep
// running, then re-enabled. Without its sessions h3 has no route out, so its own flows cannot be served
// and count as failed; the figure is the broken connections of h1 and h2. Then the same with every
// agent's XDP detached (plain ECMP anycast, the baseline), printed beside ours.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HOSTS } from '../../lab/addressing.js';
import { bringUp, type ShutReport, shutSessionsAndBack } from '../../lab/agent-steps.js';
import { HostAgents } from '../../lab/agents.js';
import { type JoinReport, joinHost, leaveHost } from '../../lab/join-steps.js';
import { buildLab, type Lab } from '../../lab/topology.js';
import { heldConnections } from './limits.js';

const log = (l: string): void => void process.stderr.write(`${l}\n`);
const SHUT = 'h3';
const NEW = 'h4';

let lab: Lab;
let agents: HostAgents;
let ours: ShutReport | undefined;
let oursJoin: JoinReport | undefined;

before(async () => {
  lab = await buildLab({ log });
  agents = new HostAgents(lab);
  await bringUp(lab, agents);
});

after(() => lab?.teardown());

function fmt(name: string, r: ShutReport, n: number): string {
  return (
    `e2e ${name}: ${n} held ${JSON.stringify(r.afterShut.opened)}; shut ${SHUT}'s sessions → broken healthy ` +
    `${r.afterShut.brokenHealthy} (${SHUT}'s own ${r.afterShut.brokenFailed}); sessions back → broken healthy ` +
    `${r.afterBack.brokenHealthy} (${JSON.stringify(r.afterBack.check.broken)}, ${JSON.stringify(r.afterBack.check.reasons)}); ` +
    `${n} opened while shut ${JSON.stringify(r.openedWhileOut.atBack.opened)} → broken when back ` +
    `${r.openedWhileOut.atBack.brokenHealthy}, after the join grace ${r.openedWhileOut.settled.brokenHealthy} ` +
    `(${JSON.stringify(r.openedWhileOut.settled.check.reasons)}); ` +
    `withdrawn at tor1 ${Math.round(r.withdrawal.tor1[4])} ms, back ${Math.round(r.backMs)} ms`
  );
}

test(`shut ${SHUT}'s BGP sessions at the ToRs and bring them back: h1's and h2's connections kept (XDP steering)`, async () => {
  const n = heldConnections();
  ours = await shutSessionsAndBack(lab, SHUT, n);
  log(fmt('sessions ours', ours, n));
  assert.equal(ours.afterShut.brokenHealthy, 0, 'after shut');
  assert.equal(ours.afterBack.brokenHealthy, 0, 'after sessions back');
  assert.equal(ours.openedWhileOut.atBack.brokenHealthy, 0, 'opened while shut, sessions back');
  assert.equal(ours.openedWhileOut.settled.brokenHealthy, 0, 'opened while shut, after the join grace');
});

function fmtJoin(name: string, r: JoinReport, n: number): string {
  return (
    `e2e ${name}: ${n} held ${JSON.stringify(r.atJoin.opened)}; add ${NEW} (VIP at every host in ` +
    `${Math.round(r.joinMs)} ms) → broken ${r.atJoin.brokenHealthy} at once, ${r.settled.brokenHealthy} after the ` +
    `join grace (${JSON.stringify(r.settled.check.broken)}, ${JSON.stringify(r.settled.check.reasons)}); ` +
    `new flows right after ${JSON.stringify(r.newFlows.counts)} (${r.newFlows.failures} failed)`
  );
}

test(`add a fourth host ${NEW}: the others' rings gain it by SIGHUP, held connections kept, ${NEW} takes new flows at once`, async () => {
  const n = heldConnections();
  try {
    oursJoin = await joinHost(lab, agents, NEW, n);
  } finally {
    await leaveHost(lab, agents, NEW);
  }
  log(fmtJoin('join ours', oursJoin, n));
  assert.ok((oursJoin.newFlows.counts[NEW] ?? 0) > 0, `${NEW} served new flows`);
  assert.equal(oursJoin.newFlows.failures, 0);
});

test(`adding ${NEW}: no held connection breaks, at once or after the join grace`, () => {
  assert.ok(oursJoin, 'the join ran');
  assert.equal(oursJoin.atJoin.brokenHealthy, 0, `at join: ${JSON.stringify(oursJoin.atJoin.check.reasons)}`);
  assert.equal(
    oursJoin.settled.brokenHealthy,
    0,
    `after the join grace: ${JSON.stringify(oursJoin.settled.check.reasons)}`,
  );
});

test('baseline: the same with XDP detached (plain ECMP anycast) breaks connections on healthy hosts', async () => {
  const n = heldConnections();
  for (const h of HOSTS) agents.detachXdp(h);
  const base = await shutSessionsAndBack(lab, SHUT, n);
  log(fmt('sessions plain ECMP', base, n));
  log(
    `e2e connections of healthy hosts broken by shutting ${SHUT}'s sessions and back, ${n} held: ` +
      `ours ${ours?.afterBack.brokenHealthy ?? '?'}, plain ECMP ${base.afterBack.brokenHealthy}`,
  );
  log(
    `e2e connections opened while ${SHUT}'s sessions were shut, broken by their return, ${n} held: ours ` +
      `${ours?.openedWhileOut.settled.brokenHealthy ?? '?'}, plain ECMP ${base.openedWhileOut.settled.brokenHealthy}`,
  );
  assert.ok(base.afterBack.brokenHealthy > (ours?.afterBack.brokenHealthy ?? 0));
  assert.ok(base.openedWhileOut.settled.brokenHealthy > (ours?.openedWhileOut.settled.brokenHealthy ?? 0));
});

test(`baseline: adding ${NEW} with XDP detached (plain ECMP anycast) breaks held connections`, async () => {
  const n = heldConnections();
  const base = await joinHost(lab, agents, NEW, n, false);
  log(fmtJoin('join plain ECMP', base, n));
  log(
    `e2e held connections broken by adding ${NEW}, ${n} held: ours ${oursJoin?.settled.brokenHealthy ?? '?'}, ` +
      `plain ECMP ${base.settled.brokenHealthy}`,
  );
  assert.ok(oursJoin, 'the join with XDP steering ran');
  assert.ok(base.settled.brokenHealthy > oursJoin.settled.brokenHealthy);
});
