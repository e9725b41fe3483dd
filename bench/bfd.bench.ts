// Peer liveness: fault → route change, p50/p99 per scenario and ToR, BFD (100 ms × 3) and link state
// beside the BGP hold-timer baseline (3 s, no BFD) in the same run, on lab/bfd-lab.ts (a real agent,
// an FRR ToR with bfdd, a BIRD ToR with protocol bfd). Scenarios: a frozen ToR (SIGSTOP its daemons),
// a blackholed link (carrier up), the ToR's end of the link down, a frozen host (agent and service
// SIGSTOPped; timed at the ToR's FIB). The baseline runs the scenarios the hold timer is the only
// detector of (link-down is carrier loss in both: BFD plays no part). Each time includes the `ip`
// command or signal that makes the fault (a few ms to ~100 ms on a loaded box).
// Knobs: ANYCASTD_BENCH_BFD_TRIALS (30), ANYCASTD_BENCH_BFD_BASELINE_TRIALS (30).

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BfdLab, HOLD_TIME_MS, type Scenario, type Tor } from '../lab/bfd-lab.js';
import { percentile } from '../lab/fabric-scenario.js';
import { removeNetnsByPrefix, uniquePrefix } from '../lab/netns.js';
import { ProcessRegistry } from '../lab/processes.js';
import { machineLine } from './report.js';
import type { BenchOutput } from './run.js';

const TRIALS = Number(process.env.ANYCASTD_BENCH_BFD_TRIALS ?? 30);
const BASELINE_TRIALS = Number(process.env.ANYCASTD_BENCH_BFD_BASELINE_TRIALS ?? 30);
const SCENARIOS: Scenario[] = ['freeze-tor', 'blackhole', 'link-down', 'freeze-host'];
const BASELINE_SCENARIOS: Scenario[] = ['freeze-tor', 'blackhole', 'freeze-host'];
const TORS: Tor[] = ['frr', 'bird'];
const TRIAL_TIMEOUT_MS = HOLD_TIME_MS * 4;

interface Row {
  mode: 'bfd' | 'hold-timer';
  scenario: Scenario;
  tor: Tor;
  n: number;
  p50: number;
  p99: number;
  max: number;
  samples: number[];
}

async function runMode(bfd: boolean, scenarios: Scenario[], trials: number): Promise<Row[]> {
  const prefix = uniquePrefix(bfd ? 'bfdb' : 'bfdh');
  const dir = join(tmpdir(), `${prefix}run`);
  const procs = new ProcessRegistry();
  const rows: Row[] = [];
  try {
    const lab = new BfdLab(procs, prefix, dir, bfd);
    await lab.start();
    for (const scenario of scenarios)
      for (const tor of TORS) {
        const samples: number[] = [];
        for (let i = 0; i < trials; i++) samples.push(await lab.trial(scenario, tor, TRIAL_TIMEOUT_MS));
        rows.push({
          mode: bfd ? 'bfd' : 'hold-timer',
          scenario,
          tor,
          n: samples.length,
          p50: percentile(samples, 0.5),
          p99: percentile(samples, 0.99),
          max: Math.max(...samples),
          samples,
        });
      }
  } finally {
    await procs.stopAll();
    removeNetnsByPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export async function run(): Promise<BenchOutput> {
  const rows = [
    ...(await runMode(true, SCENARIOS, TRIALS)),
    ...(await runMode(false, BASELINE_SCENARIOS, BASELINE_TRIALS)),
  ];
  const lines = [
    `peer liveness: fault → route change (ms), ${machineLine()}`,
    '| mode | scenario | ToR | n | p50 | p99 | max |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.mode} | ${r.scenario} | ${r.tor} | ${r.n} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.max.toFixed(0)} |`,
    ),
    'aim: p99 < 500 ms for every BFD / link-state scenario; the baseline is the 3 s hold timer.',
  ];
  return { report: lines.join('\n'), data: { holdTimeMs: HOLD_TIME_MS, bfd: '100ms x3', rows } };
}
