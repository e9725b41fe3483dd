// Hung and failing services → withdrawal (DESIGN.md "Measures that matter"): the real agent on lab host
// h2 of the full fabric (tor1 = FRR, tor2 = BIRD), its service (lab/service.ts) made to fail while it
// still listens, ms until h2 leaves each ToR's kernel FIB for the VIP (both families; the kernel's route
// events), then healed and its re-advertisement awaited. Three scenarios:
//  - stop: SIGSTOP (the kernel still completes handshakes; nothing is accepted), healed by SIGCONT;
//  - error: the service answers HTTP 500 (SIGUSR1), healed by SIGHUP;
//  - mute: it accepts and reads, never answers (SIGUSR2), healed by SIGHUP.
// Three modes, in the same run, each over TRIALS trials per scenario, the fault spread over the check's
// phase, a light load on the VIP from the client (lab/load.ts) throughout (a service with traffic):
//  - ours: HTTP check every 1 s, fast_interval 50 ms, timeout 150 ms, fall 2, the stall signs on;
//  - poll: the same check with no fast interval and no stall signs (1 s / fall 2);
//  - seed: the seed design: h2's agent replaced by a BIRD stand-in and a 1 s poll script (curl, 0.5 s
//    timeout, fall 2) that withdraws by `birdc disable` of its static protocols.
// Knobs: ANYCASTD_BENCH_HUNG_TRIALS (30), ANYCASTD_BENCH_HUNG_MODES (ours,poll,seed), ANYCASTD_BENCH_HUNG_KEEP
// (a directory: the lab directory is copied there before teardown, with trace.jsonl: each trial's fault time).
import { appendFileSync, cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { HOSTS, TORS, type TorName, VIP4 } from '../lab/addressing.js';
import { HostAgents } from '../lab/agents.js';
import { startLoadIn } from '../lab/apps.js';
import { sleep } from '../lab/exec.js';
import { waitVipAt } from '../lab/fabric-checks.js';
import type { LabProcess } from '../lab/processes.js';
import { MODE_SIGNALS } from '../lab/service.js';
import { buildLab, type Lab } from '../lab/topology.js';
import { type Dist, dist, perTor } from './failover-stats.js';
import { FailoverWatch, type TorTimes } from './failover-watch.js';
import { FAST_INTERVAL_MS, HTTP_PORT, INTERVAL_MS, TIMINGS, writeHostConfig } from './hung-config.js';
import { signDelays } from './hung-signs.js';
import type { BenchOutput } from './run.js';

const TRIALS = Number(process.env.ANYCASTD_BENCH_HUNG_TRIALS ?? 30);
/** Which modes run (comma list; default all): a short trace of one mode needs no baseline. */
const MODES = (process.env.ANYCASTD_BENCH_HUNG_MODES ?? 'ours,poll,seed').split(',');
const HOST = 'h2';
const GONE_TIMEOUT_MS = 15_000;
const BACK_TIMEOUT_MS = 30_000;
const SESSIONS_TIMEOUT_MS = 30_000;
/**
 * The light load on the VIP during the scenarios: workers, and each one's pause between requests. A
 * worker whose request lands on the faulted service waits for it (up to the load's 2 s timeout) and
 * sends nothing more: with few workers a stop left none sending for a while, and the sign waited for
 * the next probe. Many slow workers keep connections arriving while some wait.
 */
const LOAD = { concurrency: 16, pauseMs: 100 };
/** The seed design's poll script: its interval (s), curl's timeout (s), failures to withdraw. */
const SEED = { intervalS: 1, curlTimeoutS: 0.5, fall: 2 };
const AIM_P99_MS = 500;
/**
 * Before each fault, after the host is back in both FIBs: the other hosts re-add it to their rings at
 * their next check (interval, rise 1), and until then few new connections reach it, so a stop would
 * wait for a connection to show. One interval and a half.
 */
const SETTLE_MS = 1.5 * INTERVAL_MS;
/** After starting the load generator (a tsx start on a loaded box), before the first trial. */
const LOAD_WARMUP_MS = 5_000;

type Scenario = 'stop' | 'error' | 'mute';
const SCENARIOS: Record<Scenario, { fault: NodeJS.Signals; heal: NodeJS.Signals; what: string }> = {
  stop: { fault: 'SIGSTOP', heal: 'SIGCONT', what: 'SIGSTOP' },
  error: { fault: MODE_SIGNALS.error, heal: MODE_SIGNALS.ok, what: 'answers 500' },
  mute: { fault: MODE_SIGNALS.mute, heal: MODE_SIGNALS.ok, what: 'accepts, never answers' },
};
type Mode = 'ours' | 'poll' | 'seed';

function servicePid(lab: Lab): number {
  const proc = lab.services.get(HOST);
  if (!proc) throw new Error(`no service on ${HOST}`);
  return proc.pid;
}

/** Each trial's fault time (wall clock, ms) and figures, to line up with the agent's log (trace.jsonl). */
function trace(lab: Lab, line: object): void {
  appendFileSync(join(lab.dir, 'trace.jsonl'), `${JSON.stringify(line)}\n`);
}

/** Each trial's fault time (wall clock ms) of the current mode, by scenario. */
type FaultTimes = Record<Scenario, number[]>;

async function trials(
  lab: Lab,
  watch: FailoverWatch,
  s: Scenario,
  n: number,
  faults: FaultTimes,
): Promise<TorTimes[]> {
  const { fault, heal } = SCENARIOS[s];
  const out: TorTimes[] = [];
  faults[s] = [];
  for (let i = 0; i < n; i++) {
    // Settle, then spread the fault over the check's phase (just after waitBack it would land after a
    // passing probe).
    await sleep(SETTLE_MS + (i / n) * INTERVAL_MS);
    watch.forget();
    const pid = servicePid(lab);
    const at = Date.now();
    faults[s].push(at);
    try {
      out.push(await watch.timeGone(HOST, async () => void process.kill(pid, fault), GONE_TIMEOUT_MS));
      trace(lab, { scenario: s, trial: i, faultAt: new Date(at).toISOString(), gone: out.at(-1) });
    } finally {
      process.kill(pid, heal);
    }
    await watch.waitBack(HOST, BACK_TIMEOUT_MS);
  }
  return out;
}

async function allScenarios(
  lab: Lab,
  watch: FailoverWatch,
  faults: FaultTimes = {} as FaultTimes,
): Promise<Record<Scenario, Record<TorName, Dist>>> {
  const out = {} as Record<Scenario, Record<TorName, Dist>>;
  for (const s of Object.keys(SCENARIOS) as Scenario[])
    out[s] = perTor(await trials(lab, watch, s, TRIALS, faults));
  return out;
}

/** Ms from each fault to the sign that opened the fast window (ours), and how many had none. */
function signFigures(logFile: string, faults: FaultTimes): Record<Scenario, Dist & { none: number }> {
  const out = {} as Record<Scenario, Dist & { none: number }>;
  for (const s of Object.keys(faults) as Scenario[]) {
    const ds = signDelays(logFile, faults[s]);
    const seen = ds.filter((d): d is number => d !== null);
    out[s] = { ...dist(seen.length > 0 ? seen : [Number.NaN]), none: ds.length - seen.length };
  }
  return out;
}

/** Requests per second the load generator completed, in all and at the faulted host (its JSON line). */
function loadRate(file: string): { all: number; atHost: number } | null {
  const last = readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '';
  try {
    const r = JSON.parse(last) as {
      ok: number;
      errors: number;
      byHost: Record<string, number>;
      elapsedMs: number;
    };
    const perS = (n: number) => Math.round((n * 1000) / r.elapsedMs);
    return { all: perS(r.ok + r.errors), atHost: perS(r.byHost[HOST] ?? 0) };
  } catch {
    return null;
  }
}

/** The seed design's poll-and-pull script, as a shell loop in h2's namespace. */
function seedScript(ctl: string): string {
  const birdc = (verb: string) =>
    `birdc -s ${ctl} ${verb} own4 >/dev/null; birdc -s ${ctl} ${verb} own6 >/dev/null`;
  return [
    'fails=0; up=1',
    'while :; do',
    `  if curl -sf -m ${SEED.curlTimeoutS} -o /dev/null http://${VIP4}:${HTTP_PORT}/; then`,
    `    fails=0; if [ $up = 0 ]; then ${birdc('enable')}; up=1; fi`,
    '  else',
    `    fails=$((fails+1)); if [ $fails -ge ${SEED.fall} ] && [ $up = 1 ]; then ${birdc('disable')}; up=0; fi`,
    '  fi',
    `  sleep ${SEED.intervalS}`,
    'done',
  ].join('\n');
}

export async function run(): Promise<BenchOutput> {
  const t0 = performance.now();
  const lab = await buildLab();
  let watch: FailoverWatch | undefined;
  let load: LabProcess | undefined;
  try {
    const agents = new HostAgents(lab);
    await agents.prepare();
    writeHostConfig(agents, HOST, 'ours');
    await agents.startAll();
    await lab.waitEstablished(HOSTS, SESSIONS_TIMEOUT_MS);
    await waitVipAt(lab, HOSTS);
    watch = await FailoverWatch.start(lab);
    load = startLoadIn(lab.procs, lab.ns('client'), lab.dir, { target: VIP4, ...LOAD });
    await sleep(LOAD_WARMUP_MS);
    const results = {} as Record<Mode, Record<Scenario, Record<TorName, Dist>>>;
    const loadBefore = loadavg()[0];
    let signs: Record<Scenario, Dist & { none: number }> | null = null;
    if (MODES.includes('ours')) {
      const faults = {} as FaultTimes;
      results.ours = await allScenarios(lab, watch, faults);
      signs = signFigures(agents.paths(HOST).log, faults);
    }
    if (MODES.includes('poll')) {
      await agents.stop(HOST, 'SIGTERM');
      writeHostConfig(agents, HOST, 'poll');
      await agents.start(HOST);
      await watch.waitBack(HOST, BACK_TIMEOUT_MS);
      results.poll = await allScenarios(lab, watch);
    }
    if (MODES.includes('seed')) {
      await agents.stop(HOST, 'SIGTERM');
      const bird = await lab.startHostStandIn(HOST);
      await watch.waitBack(HOST, BACK_TIMEOUT_MS);
      const script = join(lab.dir, 'seed-poll.sh');
      writeFileSync(script, `${seedScript(bird.ctl)}\n`);
      lab.procs.start('seed poll script', lab.ns(HOST), '/bin/sh', [script], join(lab.dir, 'seed-poll.out'));
      results.seed = await allScenarios(lab, watch);
    }
    const stopped = load;
    load = undefined;
    await lab.procs.stop(stopped);
    const rate = loadRate(stopped.logFile);
    const boxLoad = [loadBefore, loadavg()[0]].map((x) => Math.round(x * 10) / 10);
    const data = {
      trials: TRIALS,
      check: {
        intervalMs: INTERVAL_MS,
        timeoutMs: TIMINGS.checkTimeoutMs,
        fall: TIMINGS.fall,
        fastIntervalMs: 50,
      },
      load: LOAD,
      loadRate: rate,
      boxLoad,
      signs,
      seedScript: SEED,
      ...results,
      totalS: Math.round((performance.now() - t0) / 1000),
    };
    const fig = (d: Dist) => `p50 ${d.p50} p99 ${d.p99}`;
    const lines = [
      `hung/failing service → VIP route gone from the ToR's kernel FIB (ms; ${TRIALS} trials × IPv4+IPv6 each; ` +
        `light load on the VIP; tor1 FRR, tor2 BIRD):`,
      ...(Object.keys(SCENARIOS) as Scenario[]).map(
        (s) =>
          `  ${s} (${SCENARIOS[s].what}): ` +
          (['ours', 'poll', 'seed'] as const)
            .filter((m) => results[m])
            .map((m) => `${m} ${TORS.map((t) => `${t} ${fig(results[m][s][t])}`).join(', ')}`)
            .join(' | ') +
          (results.ours
            ? ` — ours at FRR ${results.ours[s].tor1.p99 < AIM_P99_MS ? 'meets' : 'misses'} p99 < ${AIM_P99_MS}`
            : ''),
      ),
      ...(signs
        ? [
            `  ours, fault → the sign opening the fast window (agent log): ` +
              (Object.keys(signs) as Scenario[])
                .map(
                  (s) =>
                    `${s} ${fig(signs[s])}${signs[s].none ? ` (${signs[s].none} by a probe alone)` : ''}`,
                )
                .join(', '),
          ]
        : []),
      `  load: ${LOAD.concurrency} workers ${LOAD.pauseMs} ms apart, ${rate ? `${rate.all} req/s, ${rate.atHost} at ${HOST}` : 'rate unknown'}; ` +
        `box load average ${boxLoad[0]} at the start, ${boxLoad[1]} at the end (1 min)`,
      `  ours: HTTP every ${INTERVAL_MS} ms, fast ${FAST_INTERVAL_MS} ms, timeout ${TIMINGS.checkTimeoutMs} ms, fall ${TIMINGS.fall}, stall signs; ` +
        `poll: the same without; seed: BIRD + ${SEED.intervalS} s curl script (fall ${SEED.fall})`,
      `  total ${data.totalS} s`,
    ];
    return { report: lines.join('\n'), data };
  } finally {
    if (load) await lab.procs.stop(load);
    await watch?.stop();
    // The lab's directory (agent logs, trace.jsonl) goes with the lab; keep a copy when asked.
    const keep = process.env.ANYCASTD_BENCH_HUNG_KEEP;
    if (keep)
      cpSync(lab.dir, keep, {
        recursive: true,
        filter: (src) => !src.includes('/bpffs') && (statSync(src).isFile() || statSync(src).isDirectory()),
      });
    lab.teardown();
  }
}
