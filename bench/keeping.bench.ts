// Connection keeping in all five lab scenarios of DESIGN.md's "connections kept", with three real anycastd
// agents and 1,000 held connections (ANYCASTD_BENCH_LAB_CONNECTIONS), one scenario at a time: drain h3 (and new connections
// while drained: h3 must serve none); undrain h3 (1,000 more opened while drained); shut h3's BGP sessions
// at both ToRs and bring them back (ECMP moves, h3's agent and service keep running; 1,000 more opened while
// shut); add a fourth host h4 (the others' rings gain it by
// SIGHUP); kill h2's service (held connections on h1+h3, new connections every 10 ms during the failover).
// Each with XDP steering (ours), then again with every agent's XDP detached (plain ECMP). The figure is
// connections broken among healthy instances. Writes bench/results/keeping-<date>.md with an SVG beside it.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOSTS } from '../lab/addressing.js';
import {
  bringUp,
  type DrainReport,
  drainAndBack,
  type FailReport,
  failService,
  restoreService,
  type ShutReport,
  shutSessionsAndBack,
} from '../lab/agent-steps.js';
import { HostAgents } from '../lab/agents.js';
import { type JoinReport, joinHost, leaveHost } from '../lab/join-steps.js';
import { buildLab, type Lab } from '../lab/topology.js';
import { barsSvg } from './lab-svg.js';
import { writeMarkdownReport } from './report.js';
import type { BenchOutput } from './run.js';

const HELD = Number(process.env.ANYCASTD_BENCH_LAB_CONNECTIONS ?? 1000);
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results');

interface Figures {
  /** afterUndrain: broken among those opened while h3 was drained (the undrain's own figure); heldThrough: held since before the drain. */
  drain: {
    afterDrain: number;
    afterUndrain: number;
    undrainAtOnce: number;
    heldThrough: number;
    newAtDrained: number;
    newWhileDrained: number;
  };
  /** afterBack: broken among those opened while shut; heldThrough: held since before the shut (h1+h2). */
  shut: { afterShut: number; afterBack: number; heldThrough: number; shutHostOwn: number };
  join: { atJoin: number; settled: number; joinMs: number; newFlowsAtH4: number; newFlows: number };
  kill: { brokenHealthy: number; diedWithH2: number; newFailed: number; newAttempts: number };
}

interface Runs {
  drain: DrainReport;
  shut: ShutReport;
  join: JoinReport;
  kill: FailReport;
}

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

function figures({ drain: d, shut: s, join: j, kill: k }: Runs): Figures {
  return {
    drain: {
      afterDrain: d.afterDrain.brokenHealthy,
      afterUndrain: d.openedWhileOut.settled.brokenHealthy,
      undrainAtOnce: d.openedWhileOut.atBack.brokenHealthy,
      heldThrough: d.afterBack.brokenHealthy,
      newAtDrained: d.newWhileDrained.counts.h3 ?? 0,
      newWhileDrained: sum(d.newWhileDrained.counts),
    },
    shut: {
      afterShut: s.afterShut.brokenHealthy,
      afterBack: s.openedWhileOut.settled.brokenHealthy,
      heldThrough: s.afterBack.brokenHealthy,
      shutHostOwn: s.afterBack.brokenFailed,
    },
    join: {
      atJoin: j.atJoin.brokenHealthy,
      settled: j.settled.brokenHealthy,
      joinMs: Math.round(j.joinMs),
      newFlowsAtH4: j.newFlows.counts.h4 ?? 0,
      newFlows: sum(j.newFlows.counts),
    },
    kill: {
      brokenHealthy: k.kept.brokenHealthy,
      diedWithH2: k.kept.brokenFailed,
      newFailed: k.steady.failures,
      newAttempts: k.steady.attempts,
    },
  };
}

/** The five scenarios, one at a time, each leaving the lab as it found it. */
async function scenarios(lab: Lab, agents: HostAgents, xdp: boolean): Promise<Runs> {
  const drain = await drainAndBack(lab, agents, 'h3', HELD);
  const shut = await shutSessionsAndBack(lab, 'h3', HELD);
  const join = await joinHost(lab, agents, 'h4', HELD, xdp);
  await leaveHost(lab, agents, 'h4');
  const kill = await failService(lab, 'h2', HELD);
  await restoreService(lab, agents, 'h2');
  return { drain, shut, join, kill };
}

export async function run(): Promise<BenchOutput> {
  const lab = await buildLab();
  try {
    const agents = new HostAgents(lab);
    await bringUp(lab, agents);
    const ours = figures(await scenarios(lab, agents, true));
    for (const h of HOSTS) agents.detachXdp(h);
    const plainEcmp = figures(await scenarios(lab, agents, false));
    const data = { held: HELD, ours, plainEcmp };
    const lines = [
      `drain h3, ${HELD} held: broken ours ${ours.drain.afterDrain}, plain ECMP ${plainEcmp.drain.afterDrain}; ` +
        `new connections while drained served by h3: ours ${ours.drain.newAtDrained} of ${ours.drain.newWhileDrained}`,
      `undrain h3, ${HELD} opened while drained: broken ours ${ours.drain.afterUndrain}, plain ECMP ` +
        `${plainEcmp.drain.afterUndrain}; held since before the drain, after drain and undrain: ours ` +
        `${ours.drain.heldThrough}, plain ECMP ${plainEcmp.drain.heldThrough}`,
      `shut h3's BGP sessions, ${HELD} held: broken on h1+h2 ours ${ours.shut.afterShut}, plain ECMP ` +
        `${plainEcmp.shut.afterShut} (h3's own, unreachable without sessions: ${ours.shut.shutHostOwn} / ` +
        `${plainEcmp.shut.shutHostOwn}); after they are back: ours ${ours.shut.heldThrough}, plain ECMP ` +
        `${plainEcmp.shut.heldThrough}`,
      `h3's sessions back, ${HELD} opened while shut: broken ours ${ours.shut.afterBack}, plain ECMP ` +
        `${plainEcmp.shut.afterBack}`,
      `add h4, ${HELD} held: broken ours ${data.ours.join.settled}, plain ECMP ${data.plainEcmp.join.settled}; ` +
        `h4 served ${data.ours.join.newFlowsAtH4} of ${data.ours.join.newFlows} new connections right after`,
      `kill h2's service, ${HELD} held: broken on h1+h3 ours ${ours.kill.brokenHealthy}, plain ECMP ` +
        `${plainEcmp.kill.brokenHealthy} (died with h2: ${ours.kill.diedWithH2} / ${plainEcmp.kill.diedWithH2}); ` +
        `new connections failed during the failover ours ${ours.kill.newFailed} of ${ours.kill.newAttempts}, ` +
        `plain ECMP ${plainEcmp.kill.newFailed} of ${plainEcmp.kill.newAttempts}`,
    ];
    writeReport(data, lines);
    return { report: lines.join('\n'), data };
  } finally {
    lab.teardown();
  }
}

function writeReport(data: { held: number; ours: Figures; plainEcmp: Figures }, lines: string[]): void {
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const bars = `keeping-${stamp}.svg`;
  writeFileSync(
    join(RESULTS, bars),
    barsSvg(`held connections broken among healthy instances (of ${data.held})`, 'connections broken', {
      'h3 drained': { ours: data.ours.drain.afterDrain, 'plain ECMP': data.plainEcmp.drain.afterDrain },
      'h3 undrained': { ours: data.ours.drain.afterUndrain, 'plain ECMP': data.plainEcmp.drain.afterUndrain },
      "h3's sessions shut (h1+h2)": {
        ours: data.ours.shut.afterShut,
        'plain ECMP': data.plainEcmp.shut.afterShut,
      },
      "h3's sessions back": { ours: data.ours.shut.afterBack, 'plain ECMP': data.plainEcmp.shut.afterBack },
      'h4 added': { ours: data.ours.join.settled, 'plain ECMP': data.plainEcmp.join.settled },
      "h2's service killed (h1+h3)": {
        ours: data.ours.kill.brokenHealthy,
        'plain ECMP': data.plainEcmp.kill.brokenHealthy,
      },
    }),
  );
  writeMarkdownReport({
    file: join(RESULTS, `keeping-${stamp}.md`),
    title: 'anycastd lab benchmark: keeping scenarios',
    lines,
    images: [['connections', bars]],
    data,
  });
}
