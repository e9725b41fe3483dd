// Agent restart (SIGTERM, start again) of h1 under HELD (1,000) held connections, once in a lab whose
// ToRs are graceful restart helpers (RFC 4724: the agent leaves its sessions without a NOTIFICATION and
// withdraws nothing; FRR and BIRD keep its routes, stale, until its End-of-RIB) and once in the usual lab
// (no graceful restart: the agent withdraws, the ToRs drop h1 and take it back). The figure: changes of
// the VIP's route in each ToR's FIB during the restart (`ip -ts monitor route`: 0 means no route moved),
// connections broken, and stop → VIP at every host again. Writes bench/results/graceful-restart-<date>.md.
// Knob: ANYCASTD_BENCH_GR_HELD.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bringUp } from '../lab/agent-steps.js';
import { HostAgents } from '../lab/agents.js';
import { type WatchedRestart, watchedRestart } from '../lab/graceful-restart.js';
import { buildLab } from '../lab/topology.js';
import { writeMarkdownReport } from './report.js';
import type { BenchOutput } from './run.js';

const HELD = Number(process.env.ANYCASTD_BENCH_GR_HELD ?? 1000);
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results');
async function restartIn(gracefulRestart: boolean): Promise<WatchedRestart> {
  const lab = await buildLab({ gracefulRestart });
  try {
    const agents = new HostAgents(lab, { fromDist: true });
    await bringUp(lab, agents);
    return await watchedRestart(lab, agents, 'h1', HELD);
  } finally {
    lab.teardown();
  }
}

export async function run(): Promise<BenchOutput> {
  const withGr = await restartIn(true);
  const without = await restartIn(false);
  const line = (name: string, f: WatchedRestart): string =>
    `${name}: VIP route changes in the FIB tor1 (FRR) ${f.fibChanges.tor1}, tor2 (BIRD) ${f.fibChanges.tor2}; ` +
    `broken ${f.broken} of ${f.held} held; VIP at every host again ${f.backMs} ms after SIGTERM`;
  const lines = [
    line('agent restart with graceful restart', withGr),
    line('agent restart without graceful restart', without),
  ];
  const data = { held: HELD, withGracefulRestart: withGr, withoutGracefulRestart: without };
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeMarkdownReport({
    file: join(RESULTS, `graceful-restart-${stamp}.md`),
    title: 'anycastd lab benchmark: agent restart with and without graceful restart',
    lines,
    images: [],
    data,
  });
  return { report: lines.join('\n'), data };
}
