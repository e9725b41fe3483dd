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
// transitions (a flap is a change where nothing failed). The loaded half also runs CPU burners (one
// busy shell loop per core, bounded by the soak's length). tcpdump at each ToR's end of its link says
// who declared each Down (the side whose Down packets carry "Control Detection Time Expired", RFC 5880
// §4.1) and how late each side's packets were (intervals between one side's packets on the wire).
// Knobs: ANYCASTD_BENCH_BFD_TRIALS (30), ANYCASTD_BENCH_BFD_BASELINE_TRIALS (30), ANYCASTD_BENCH_BFD_SOAK_S,
// ANYCASTD_BENCH_BFD_SOAK_BURNERS (CPU burners in the loaded half, default one per core),
// ANYCASTD_BENCH_BFD_SCENARIOS (comma list, default all).

import { rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BfdCapture, type GapStats } from '../lab/bfd-capture.js';
import { BfdLab, HOLD_TIME_MS, type Scenario, type Tor } from '../lab/bfd-lab.js';
import { percentile } from '../lab/fabric-scenario.js';
import { removeNetnsByPrefix, uniquePrefix } from '../lab/netns.js';
import { ProcessRegistry } from '../lab/processes.js';
import { machineLine } from './report.js';
import type { BenchOutput } from './run.js';

const TRIALS = Number(process.env.ANYCASTD_BENCH_BFD_TRIALS ?? 30);
const BASELINE_TRIALS = Number(process.env.ANYCASTD_BENCH_BFD_BASELINE_TRIALS ?? 30);
const SOAK_S = Number(process.env.ANYCASTD_BENCH_BFD_SOAK_S ?? 0);
const SOAK_BURNERS = Number(process.env.ANYCASTD_BENCH_BFD_SOAK_BURNERS ?? availableParallelism());
const ONLY = process.env.ANYCASTD_BENCH_BFD_SCENARIOS?.split(',');
const SCENARIOS = (['freeze-tor', 'blackhole', 'link-down', 'freeze-host'] as Scenario[]).filter(
  (s) => !ONLY || ONLY.includes(s),
);
const BASELINE_SCENARIOS = SCENARIOS.filter((s) => s !== 'link-down');
const MS_PER_S = 1000;
/** The soak's load: connections at once, on the lab service's TCP port, no pause. */
const SOAK_LOAD_CONCURRENCY = 32;
const TORS: Tor[] = ['frr', 'bird'];
/** The lab's BFD detection time (100 ms × 3): a packet interval longer than this is a Down. */
const DETECT_MS = 300;
/** RFC 5880 §4.1: the diagnostic code of a Down packet from the side whose detection time expired. */
const DIAG_DETECT_EXPIRED = 1;
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

/** One ToR's link during a soak phase: who declared Downs, and each side's packet intervals on the wire. */
interface LinkSoak {
  /** Downs the agent declared (its Down packets say detection time expired) and the ToR declared. */
  downsByAgent: number;
  downsByTor: number;
  agentTx: GapStats;
  torTx: GapStats;
}

interface SoakPhase {
  routeChanges: { host: number; tors: Record<Tor, number> };
  bfdDown: number;
  links: Record<Tor, LinkSoak>;
}

interface Soak {
  seconds: number;
  idle: SoakPhase;
  loaded: SoakPhase & { load: string; burners: number };
}

function linkSoak(lab: BfdLab, caps: Record<Tor, BfdCapture>, tor: Tor, from: number, to: number): LinkSoak {
  const t = lab.tors[tor];
  const c = caps[tor];
  const agentDowns = c.downs(t.hostAddr, from, to);
  const torDowns = c.downs(t.torAddr, from, to);
  return {
    downsByAgent: agentDowns[DIAG_DETECT_EXPIRED] ?? 0,
    downsByTor: torDowns[DIAG_DETECT_EXPIRED] ?? 0,
    agentTx: c.gaps(t.hostAddr, from, to, DETECT_MS),
    torTx: c.gaps(t.torAddr, from, to, DETECT_MS),
  };
}

/** One soak phase of SOAK_S: route changes, BFD downs, and per link who declared them. */
async function soakPhase(lab: BfdLab, caps: Record<Tor, BfdCapture>): Promise<SoakPhase> {
  const downs = (): number => lab.bfdTransitions().down ?? 0;
  const d0 = downs();
  const from = Date.now();
  const routeChanges = await lab.countRouteChanges(SOAK_S * MS_PER_S);
  const to = Date.now();
  const bfdDown = downs() - d0;
  const links = Object.fromEntries(TORS.map((t) => [t, linkSoak(lab, caps, t, from, to)])) as Record<
    Tor,
    LinkSoak
  >;
  return { routeChanges, bfdDown, links };
}

/** BFD on, nothing injected: route changes and BFD downs over SOAK_S idle, then SOAK_S loaded. */
async function soak(): Promise<Soak> {
  const prefix = uniquePrefix('bfds');
  const dir = join(tmpdir(), `${prefix}run`);
  const procs = new ProcessRegistry();
  try {
    const lab = new BfdLab(procs, prefix, dir, true);
    await lab.start();
    const caps = Object.fromEntries(
      TORS.map((t) => [t, new BfdCapture(procs, lab.tors[t].ns, lab.tors[t].ifname, dir)]),
    ) as Record<Tor, BfdCapture>;
    const idle = await soakPhase(lab, caps);
    const load = lab.startLoad(SOAK_LOAD_CONCURRENCY);
    const burners = lab.startBurners(SOAK_BURNERS, SOAK_S);
    const loaded = await soakPhase(lab, caps);
    await procs.stop(load);
    for (const b of burners) await procs.stop(b);
    for (const c of Object.values(caps)) await c.stop();
    return {
      seconds: SOAK_S,
      idle,
      loaded: { ...loaded, load: BfdLab.loadResult(load), burners: SOAK_BURNERS },
    };
  } finally {
    await procs.stopAll();
    removeNetnsByPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

const gapText = (g: GapStats): string =>
  `${g.packets} pkts, gap p50/p99/max ${g.p50.toFixed(0)}/${g.p99.toFixed(0)}/${g.max.toFixed(0)} ms, ${g.over} > ${DETECT_MS} ms`;

const phaseLines = (name: string, p: SoakPhase): string[] => [
  `soak ${name}: route changes host ${p.routeChanges.host}, frr ${p.routeChanges.tors.frr}, bird ${p.routeChanges.tors.bird}, BFD downs (agent's count) ${p.bfdDown}`,
  ...TORS.map(
    (t) =>
      `  ${t}: downs declared by the agent ${p.links[t].downsByAgent}, by the ToR ${p.links[t].downsByTor}; ` +
      `agent → ToR ${gapText(p.links[t].agentTx)}; ToR → agent ${gapText(p.links[t].torTx)}`,
  ),
];

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
          `soak (BFD 100 ms × 3, nothing injected), ${soaked.seconds} s each half:`,
          ...phaseLines('idle', soaked.idle),
          ...phaseLines(
            `loaded (${soaked.loaded.load}; ${soaked.loaded.burners} CPU burners)`,
            soaked.loaded,
          ),
        ]
      : []),
  ];
  return {
    report: lines.join('\n'),
    data: { holdTimeMs: HOLD_TIME_MS, bfd: '100ms x3', rows, ...(soaked ? { soak: soaked } : {}) },
  };
}
