// Connection keeping in issue 8's other two lab scenarios, with three real anycastd agents and 1,000 held
// connections (ANYCASTD_BENCH_LAB_CONNECTIONS): shut h3's BGP sessions at both ToRs and bring them back
// (ECMP moves, h3's agent and service keep running); add a fourth host h4 (the others' rings gain it by
// SIGHUP). Each with XDP steering (ours), then again with every agent's XDP detached (plain ECMP).
// Writes bench/results/keeping-<date>.md with an SVG of the broken counts beside it.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOSTS } from '../src/lab/addressing.js';
import { bringUp, type ShutReport, shutSessionsAndBack } from '../src/lab/agent-steps.js';
import { HostAgents } from '../src/lab/agents.js';
import { type JoinReport, joinHost, leaveHost } from '../src/lab/join-steps.js';
import { buildLab } from '../src/lab/topology.js';
import { barsSvg } from './lab-svg.js';
import { writeMarkdownReport } from './report.js';
import type { BenchOutput } from './run.js';

const HELD = Number(process.env.ANYCASTD_BENCH_LAB_CONNECTIONS ?? 1000);
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results');

interface Figures {
  shut: { afterShut: number; afterBack: number; shutHostOwn: number };
  join: { atJoin: number; settled: number; joinMs: number; newFlowsAtH4: number; newFlows: number };
}

function figures(s: ShutReport, j: JoinReport): Figures {
  return {
    shut: {
      afterShut: s.afterShut.brokenHealthy,
      afterBack: s.afterBack.brokenHealthy,
      shutHostOwn: s.afterBack.brokenFailed,
    },
    join: {
      atJoin: j.atJoin.brokenHealthy,
      settled: j.settled.brokenHealthy,
      joinMs: Math.round(j.joinMs),
      newFlowsAtH4: j.newFlows.counts.h4 ?? 0,
      newFlows: Object.values(j.newFlows.counts).reduce((a, b) => a + b, 0),
    },
  };
}

export async function run(): Promise<BenchOutput> {
  const lab = await buildLab();
  try {
    const agents = new HostAgents(lab);
    await bringUp(lab, agents);
    const oursShut = await shutSessionsAndBack(lab, 'h3', HELD);
    const oursJoin = await joinHost(lab, agents, 'h4', HELD);
    await leaveHost(lab, agents, 'h4');
    for (const h of HOSTS) agents.detachXdp(h);
    const plainShut = await shutSessionsAndBack(lab, 'h3', HELD);
    const plainJoin = await joinHost(lab, agents, 'h4', HELD, false);
    const data = { held: HELD, ours: figures(oursShut, oursJoin), plainEcmp: figures(plainShut, plainJoin) };
    const lines = [
      `shut h3's BGP sessions and back, ${HELD} held: broken on h1+h2 ours ${data.ours.shut.afterBack}, ` +
        `plain ECMP ${data.plainEcmp.shut.afterBack} (h3's own, unreachable without sessions: ` +
        `${data.ours.shut.shutHostOwn} / ${data.plainEcmp.shut.shutHostOwn})`,
      `add h4, ${HELD} held: broken ours ${data.ours.join.settled}, plain ECMP ${data.plainEcmp.join.settled}; ` +
        `h4 served ${data.ours.join.newFlowsAtH4} of ${data.ours.join.newFlows} new connections right after`,
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
    barsSvg(`held connections broken (of ${data.held})`, 'connections broken', {
      "h3's sessions shut and back (h1+h2)": {
        ours: data.ours.shut.afterBack,
        'plain ECMP': data.plainEcmp.shut.afterBack,
      },
      'h4 added': { ours: data.ours.join.settled, 'plain ECMP': data.plainEcmp.join.settled },
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
