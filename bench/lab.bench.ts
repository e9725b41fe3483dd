// The lab's own benchmark (DESIGN.md "Measures that matter"), with three real anycastd agents:
// - failure → withdrawal: h2's service SIGKILLed, ms until h2 leaves tor1's (FRR) and tor2's (BIRD) FIB
//   (the kernel's route events) and the spine's BGP table; TRIALS trials, p50/p99/max; then it returns;
// - one failure under 1,000 held connections and new connections every 10 ms: broken on the survivors,
//   new connections failed;
// - connections broken by drain + undrain of h3 with 1,000 held connections: ours (XDP steering) against
//   plain ECMP anycast (every agent's XDP program detached);
// - agent restart (SIGTERM, start again) under 1,000 held connections.
// Writes bench/results/lab-<date>.md with SVG plots beside it (failover CDF; connections broken).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOSTS } from '../lab/addressing.js';
import {
  baselineDrain,
  bringUp,
  drainAndBack,
  failService,
  restartAgent,
  restoreService,
} from '../lab/agent-steps.js';
import { HostAgents } from '../lab/agents.js';
import { measureWithdrawalBy, type WithdrawalTimes } from '../lab/fabric-checks.js';
import { percentile } from '../lab/fabric-scenario.js';
import { buildLab, type Lab } from '../lab/topology.js';
import { barsSvg, cdfSvg } from './lab-svg.js';
import { writeMarkdownReport } from './report.js';
import type { BenchOutput } from './run.js';

const TRIALS = Number(process.env.ANYCASTD_BENCH_LAB_TRIALS ?? 20);
const HELD = Number(process.env.ANYCASTD_BENCH_LAB_CONNECTIONS ?? 1000);
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results');

interface Dist {
  p50: number;
  p99: number;
  max: number;
  samples: number[];
}

function dist(xs: number[]): Dist {
  const r = (x: number): number => Math.round(x * 10) / 10;
  return {
    p50: r(percentile(xs, 0.5)),
    p99: r(percentile(xs, 0.99)),
    max: r(Math.max(...xs)),
    samples: xs.map(r),
  };
}

async function failoverTrials(lab: Lab, agents: HostAgents): Promise<WithdrawalTimes[]> {
  const out: WithdrawalTimes[] = [];
  for (let i = 0; i < TRIALS; i++) {
    out.push(await measureWithdrawalBy(lab, 'h2', () => lab.stopService('h2', 'SIGKILL')));
    await restoreService(lab, agents, 'h2');
  }
  return out;
}

export async function run(): Promise<BenchOutput> {
  const lab = await buildLab();
  try {
    const agents = new HostAgents(lab);
    const up = await bringUp(lab, agents);
    const trials = await failoverTrials(lab, agents);
    const failover = {
      tor1: dist(trials.flatMap((t) => [t.tor1[4], t.tor1[6]])),
      tor2: dist(trials.flatMap((t) => [t.tor2[4], t.tor2[6]])),
      spineBgp: dist(trials.flatMap((t) => [t.spineBgp[4], t.spineBgp[6]])),
    };
    const fail = await failService(lab, 'h2', HELD);
    await restoreService(lab, agents, 'h2');
    const ours = await drainAndBack(lab, agents, 'h3', HELD);
    const restart = await restartAgent(lab, agents, 'h1', 'SIGTERM', HELD);
    const plain = await baselineDrain(lab, agents, 'h3', HELD);
    const data = {
      trials: TRIALS,
      held: HELD,
      sessionsMs: Math.round(up.sessionsMs),
      failover,
      failure: {
        brokenOnSurvivors: fail.kept.brokenHealthy,
        survivorsHeld: HELD - (fail.kept.opened.h2 ?? 0),
        newConnectionFailures: fail.steady.failures,
        newConnectionAttempts: fail.steady.attempts,
      },
      drainAndBack: {
        ours: { afterDrain: ours.afterDrain.brokenHealthy, afterBack: ours.afterBack.brokenHealthy },
        plainEcmp: { afterDrain: plain.afterDrain.brokenHealthy, afterBack: plain.afterBack.brokenHealthy },
      },
      restart: {
        backMs: Math.round(restart.backMs),
        broken: Object.fromEntries(HOSTS.map((h) => [h, restart.kept.check.broken[h] ?? 0])),
        held: restart.kept.opened,
        adopted: restart.adopted,
      },
    };
    const lines = [
      `failure → withdrawal (ms, ${TRIALS} trials × IPv4+IPv6): tor1 (FRR) p50 ${failover.tor1.p50} p99 ${failover.tor1.p99} max ${failover.tor1.max}; ` +
        `tor2 (BIRD) p50 ${failover.tor2.p50} p99 ${failover.tor2.p99}; spine BGP p50 ${failover.spineBgp.p50} p99 ${failover.spineBgp.p99}`,
      `service killed under ${HELD} held: broken on survivors ${data.failure.brokenOnSurvivors} of ${data.failure.survivorsHeld}; ` +
        `new connections failed ${data.failure.newConnectionFailures} of ${data.failure.newConnectionAttempts}`,
      `drain + undrain h3, ${HELD} held: broken ours ${data.drainAndBack.ours.afterBack}, plain ECMP ${data.drainAndBack.plainEcmp.afterBack}`,
      `agent restart (SIGTERM), ${HELD} held: back in ${data.restart.backMs} ms, broken ${JSON.stringify(data.restart.broken)}`,
    ];
    writeReport(data, failover, lines);
    return { report: lines.join('\n'), data };
  } finally {
    lab.teardown();
  }
}

function writeReport(data: object, failover: Record<string, Dist>, lines: string[]): void {
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const d = data as {
    held: number;
    drainAndBack: { ours: Record<string, number>; plainEcmp: Record<string, number> };
  };
  const cdf = `lab-${stamp}-failover.svg`;
  const bars = `lab-${stamp}-connections.svg`;
  writeFileSync(
    join(RESULTS, cdf),
    cdfSvg('service killed → route gone (ms)', 'ms after SIGKILL of the service', {
      'tor1 (FRR) FIB': failover.tor1!.samples,
      'tor2 (BIRD) FIB': failover.tor2!.samples,
      'spine BGP table': failover.spineBgp!.samples,
    }),
  );
  writeFileSync(
    join(RESULTS, bars),
    barsSvg(`held connections broken (of ${d.held})`, 'connections broken', {
      'after drain': {
        ours: d.drainAndBack.ours.afterDrain!,
        'plain ECMP': d.drainAndBack.plainEcmp.afterDrain!,
      },
      'after undrain': {
        ours: d.drainAndBack.ours.afterBack!,
        'plain ECMP': d.drainAndBack.plainEcmp.afterBack!,
      },
    }),
  );
  writeMarkdownReport({
    file: join(RESULTS, `lab-${stamp}.md`),
    title: 'anycastd lab benchmark',
    lines,
    images: [
      ['failover', cdf],
      ['connections', bars],
    ],
    data,
  });
}
