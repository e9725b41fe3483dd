// Peer liveness: fault → route change, p50/p99 per scenario and ToR, BFD (100 ms × 3) and link state
// beside the BGP hold-timer baseline (3 s, no BFD) in the same run, on lab/bfd-lab.ts (a real agent,
// an FRR ToR with bfdd, a BIRD ToR with protocol bfd). Scenarios: a frozen ToR (SIGSTOP its daemons),
// a blackholed link (carrier up), the ToR's end of the link down, a frozen host (agent and service
// SIGSTOPped; timed at the ToR's FIB). The baseline runs the scenarios the hold timer is the only
// detector of (link-down is carrier loss in both: BFD plays no part). Each time includes the `ip`
// command or signal that makes the fault (a few ms to ~100 ms on a loaded box).
// A trial the lab does not settle after (routes not all back and steady within a minute: seen on a box
// at load average 20+) is counted as `unsettled` and the lab waits once more before the next; every
// row is printed as it completes (stderr), so a run cut short keeps what it measured.
// Soak (ANYCASTD_BENCH_BFD_SOAK_S, default 0: off; the issue asks 600): with BFD on and nothing
// injected, idle for that long and then as long again with the load generator (lab/load.ts) at the
// machine's limit on the service, counting route changes at the host and both ToRs and BFD session
// transitions (a flap is a change where nothing failed).
// Knobs: ANYCASTD_BENCH_BFD_TRIALS (30), ANYCASTD_BENCH_BFD_BASELINE_TRIALS (30), ANYCASTD_BENCH_BFD_SOAK_S,
// ANYCASTD_BENCH_BFD_SCENARIOS (comma list, default all).

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
const SOAK_S = Number(process.env.ANYCASTD_BENCH_BFD_SOAK_S ?? 0);
const ONLY = process.env.ANYCASTD_BENCH_BFD_SCENARIOS?.split(',');
const SCENARIOS = (['freeze-tor', 'blackhole', 'link-down', 'freeze-host'] as Scenario[]).filter(
  (s) => !ONLY || ONLY.includes(s),
);
const BASELINE_SCENARIOS = SCENARIOS.filter((s) => s !== 'link-down');
const MS_PER_S = 1000;
/** The soak's load: connections at once, on the lab service's TCP port, no pause. */
const SOAK_LOAD_CONCURRENCY = 32;
const TORS: Tor[] = ['frr', 'bird'];
const TRIAL_TIMEOUT_MS = HOLD_TIME_MS * 4;

interface Row {
  mode: 'bfd' | 'hold-timer';
  scenario: Scenario;
  tor: Tor;
  n: number;
  /** Trials after which the lab did not settle in time (their fault → route time is still counted). */
  unsettled: number;
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
        let unsettled = 0;
        for (let i = 0; i < trials; i++) {
          try {
            samples.push(await lab.trial(scenario, tor, TRIAL_TIMEOUT_MS));
          } catch (err) {
            unsettled++;
            process.stderr.write(`bfd bench: ${scenario} ${tor} trial ${i}: ${(err as Error).message}\n`);
            await lab.waitSteady().catch(() => {});
          }
        }
        const row: Row = {
          mode: bfd ? 'bfd' : 'hold-timer',
          scenario,
          tor,
          n: samples.length,
          unsettled,
          p50: percentile(samples, 0.5),
          p99: percentile(samples, 0.99),
          max: Math.max(...samples),
          samples,
        };
        rows.push(row);
        process.stderr.write(`bfd bench: ${rowLine(row)}\n`);
      }
  } finally {
    await procs.stopAll();
    removeNetnsByPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

const rowLine = (r: Row): string =>
  `| ${r.mode} | ${r.scenario} | ${r.tor} | ${r.n} | ${r.unsettled} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.max.toFixed(0)} |`;

interface Soak {
  seconds: number;
  idle: { routeChanges: { host: number; tors: Record<Tor, number> }; bfdDown: number };
  loaded: { routeChanges: { host: number; tors: Record<Tor, number> }; bfdDown: number; load: string };
}

/** BFD on, nothing injected: route changes and BFD downs over SOAK_S idle, then SOAK_S loaded. */
async function soak(): Promise<Soak> {
  const prefix = uniquePrefix('bfds');
  const dir = join(tmpdir(), `${prefix}run`);
  const procs = new ProcessRegistry();
  try {
    const lab = new BfdLab(procs, prefix, dir, true);
    await lab.start();
    const downs = (): number => lab.bfdTransitions().down ?? 0;
    const d0 = downs();
    const idleChanges = await lab.countRouteChanges(SOAK_S * MS_PER_S);
    const d1 = downs();
    const load = lab.startLoad(SOAK_LOAD_CONCURRENCY);
    const loadedChanges = await lab.countRouteChanges(SOAK_S * MS_PER_S);
    const d2 = downs();
    await procs.stop(load);
    const counts = BfdLab.loadResult(load);
    return {
      seconds: SOAK_S,
      idle: { routeChanges: idleChanges, bfdDown: d1 - d0 },
      loaded: { routeChanges: loadedChanges, bfdDown: d2 - d1, load: counts },
    };
  } finally {
    await procs.stopAll();
    removeNetnsByPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchOutput> {
  const rows = [
    ...(TRIALS > 0 ? await runMode(true, SCENARIOS, TRIALS) : []),
    ...(BASELINE_TRIALS > 0 ? await runMode(false, BASELINE_SCENARIOS, BASELINE_TRIALS) : []),
  ];
  const soaked = SOAK_S > 0 ? await soak() : null;
  const lines = [
    `peer liveness: fault → route change (ms), ${machineLine()}`,
    '| mode | scenario | ToR | n | unsettled | p50 | p99 | max |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(rowLine),
    'aim: p99 < 500 ms for every BFD / link-state scenario; the baseline is the 3 s hold timer.',
    ...(soaked
      ? [
          `soak (BFD 100 ms × 3, nothing injected), ${soaked.seconds} s idle: route changes host ${soaked.idle.routeChanges.host}, ` +
            `frr ${soaked.idle.routeChanges.tors.frr}, bird ${soaked.idle.routeChanges.tors.bird}, BFD downs ${soaked.idle.bfdDown}; ` +
            `${soaked.seconds} s under load (${soaked.loaded.load}): host ${soaked.loaded.routeChanges.host}, ` +
            `frr ${soaked.loaded.routeChanges.tors.frr}, bird ${soaked.loaded.routeChanges.tors.bird}, BFD downs ${soaked.loaded.bfdDown}`,
        ]
      : []),
  ];
  return {
    report: lines.join('\n'),
    data: { holdTimeMs: HOLD_TIME_MS, bfd: '100ms x3', rows, ...(soaked ? { soak: soaked } : {}) },
  };
}
