// Restarting h1's agent RESTARTS times (100) under HELD (1,000) connections held through the whole loop
// and HELD more opened right before each stop, SIGTERM and kill -9 alternating, each restart after a drain
// and undrain of a host (h3, h2, h1 in turn): lab/restart-loop.ts. The figure is every broken connection,
// per restart kind (the aim is 0), and how long each restart took until the VIP was at every host again.
// Writes bench/results/restart-<date>.md. Knobs: ANYCASTD_BENCH_RESTARTS, ANYCASTD_BENCH_RESTART_HELD.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bringUp } from '../lab/agent-steps.js';
import { HostAgents } from '../lab/agents.js';
import { percentile } from '../lab/fabric-scenario.js';
import { restartLoop } from '../lab/restart-loop.js';
import { buildLab } from '../lab/topology.js';
import { writeMarkdownReport } from './report.js';
import type { BenchOutput } from './run.js';

const RESTARTS = Number(process.env.ANYCASTD_BENCH_RESTARTS ?? 100);
const HELD = Number(process.env.ANYCASTD_BENCH_RESTART_HELD ?? 1000);
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results');

export async function run(): Promise<BenchOutput> {
  const lab = await buildLab();
  try {
    const agents = new HostAgents(lab, { fromDist: true });
    await bringUp(lab, agents);
    const r = await restartLoop(lab, agents, {
      restarts: RESTARTS,
      held: HELD,
      host: 'h1',
      drainHosts: ['h3', 'h2', 'h1'],
      onRound: (x) => {
        if (x.brokenFresh + x.brokenHeld > 0)
          process.stderr.write(
            `restart ${x.round} ${x.signal}: broken ${x.brokenFresh} + ${x.brokenHeld} ${JSON.stringify(x.samples)}\n`,
          );
      },
    });
    const back = r.rounds.map((x) => Math.round(x.backMs));
    const data = {
      restarts: RESTARTS,
      held: HELD,
      restartsBySignal: r.restartsBySignal,
      brokenBySignal: r.brokenBySignal,
      heldThrough: r.heldThrough,
      fresh: r.fresh,
      backMs: {
        p50: percentile(back, 0.5),
        p99: percentile(back, 0.99),
        max: Math.max(...back),
        samples: back,
      },
      brokenRounds: r.rounds.filter((x) => x.brokenFresh + x.brokenHeld > 0),
    };
    const lines = [
      `${RESTARTS} restarts of h1's agent (${r.restartsBySignal.SIGTERM} SIGTERM, ${r.restartsBySignal.SIGKILL} kill -9), ` +
        `each after a drain and undrain: broken by SIGTERM restarts ${r.brokenBySignal.SIGTERM}, by kill -9 ` +
        `${r.brokenBySignal.SIGKILL}`,
      `${r.heldThrough.opened} connections held through every restart: ${r.heldThrough.broken} broken; ` +
        `${r.fresh.opened} opened right before a stop (${HELD} per restart): ${r.fresh.broken} broken`,
      `stop → VIP at every host again: p50 ${data.backMs.p50} ms, p99 ${data.backMs.p99} ms, max ${data.backMs.max} ms`,
    ];
    mkdirSync(RESULTS, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    writeMarkdownReport({
      file: join(RESULTS, `restart-${stamp}.md`),
      title: 'anycastd lab benchmark: agent restarts under held connections',
      lines,
      images: [],
      data,
    });
    return { report: lines.join('\n'), data };
  } finally {
    lab.teardown();
  }
}
