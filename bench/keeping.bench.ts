// Connection keeping in the lab's scenarios of DESIGN.md's "connections kept", with three real anycastd
// agents: drain h3 and undrain it (HELD more opened while drained); shut h3's BGP sessions at both ToRs
// and bring them back (HELD more opened while shut); add a fourth host h4 (the others' rings gain it by
// SIGHUP); kill h2's service (new connections every 10 ms during the failover). Each scenario:
// - with HELD idle connections held through it, checked after it (the figure: broken among healthy
//   instances; the leaving host's own connections counted apart, not hidden);
// - with traffic in flight through it (lab/traffic.ts): a short request every TRAFFIC_EVERY_MS and
//   TRAFFIC_LONG long transfers, counting errors, resets and stalls > 1 s;
// - over IPv4 and IPv6 (the VIP of each family), RUNS times, the distribution reported (min, median, max
//   and every run);
// - with XDP steering (ours), then with every agent's XDP detached: plain hash-threshold ECMP at the ToRs,
//   and resilient next-hop groups at the ToRs (lab/resilient.ts: a removed host loses only its buckets, so
//   it ties with ours where hosts only leave; an added or returning host gets no buckets while traffic
//   keeps them busy, so it takes no new flows either).
// Writes bench/results/keeping-<date>.md with an SVG beside it. Knobs: ANYCASTD_BENCH_LAB_CONNECTIONS
// (1000), ANYCASTD_BENCH_KEEPING_RUNS (5), ANYCASTD_BENCH_KEEPING_FAMILIES ("4,6"),
// ANYCASTD_BENCH_KEEPING_SCENARIOS ("drain,shut,join,kill"), ANYCASTD_BENCH_TRAFFIC_EVERY_MS (20),
// ANYCASTD_BENCH_TRAFFIC_LONG (4).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOSTS, VIP4, VIP6 } from '../lab/addressing.js';
import {
  bringUp,
  drainAndBack,
  failService,
  type KeptReport,
  restoreService,
  shutSessionsAndBack,
} from '../lab/agent-steps.js';
import { HostAgents } from '../lab/agents.js';
import { joinHost, leaveHost, NEW_FLOWS } from '../lab/join-steps.js';
import { ResilientMirror } from '../lab/resilient.js';
import { buildLab, type Lab } from '../lab/topology.js';
import type { TrafficReport } from '../lab/traffic.js';
import { Traffic } from '../lab/traffic-client.js';
import { barsSvg } from './lab-svg.js';
import { writeMarkdownReport } from './report.js';
import type { BenchOutput } from './run.js';

const HELD = Number(process.env.ANYCASTD_BENCH_LAB_CONNECTIONS ?? 1000);
const RUNS = Number(process.env.ANYCASTD_BENCH_KEEPING_RUNS ?? 5);
const FAMILIES = (process.env.ANYCASTD_BENCH_KEEPING_FAMILIES ?? '4,6').split(',').map(Number) as (4 | 6)[];
const SCENARIOS = (process.env.ANYCASTD_BENCH_KEEPING_SCENARIOS ?? 'drain,shut,join,kill').split(',');
const TRAFFIC_EVERY_MS = Number(process.env.ANYCASTD_BENCH_TRAFFIC_EVERY_MS ?? 20);
const TRAFFIC_LONG = Number(process.env.ANYCASTD_BENCH_TRAFFIC_LONG ?? 4);
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results');
const VIP = { 4: VIP4, 6: VIP6 } as const;
const ALL_MODES = ['ours', 'plain ECMP', 'resilient'] as const;
type Mode = (typeof ALL_MODES)[number];
/** ANYCASTD_BENCH_KEEPING_MODES ("ours,plain,resilient"): a subset, so the modes can run as parallel labs. */
const MODES = ALL_MODES.filter((m) =>
  (process.env.ANYCASTD_BENCH_KEEPING_MODES ?? 'ours,plain,resilient').split(',').includes(m.split(' ')[0]!),
);

/** One scenario's figures in one run. */
interface Sample {
  /** Held connections broken among healthy instances (the figure that must be 0 for ours). */
  broken: number;
  /** Held connections of the leaving host (drained, shut or killed) that broke. */
  leavingOwn: number;
  /** Return figures only: of those opened while the host was out, broken at its return (before the join grace). */
  brokenAtReturn?: number;
  /** Why the held connections broke (the holder's reasons: ECONNRESET, timeout, moved to …). */
  brokenWhy: Record<string, number>;
  /** Up to 20 broken ones: "<instance> <client port> <why>" (the holder's samples), to follow one. */
  brokenSamples: string[];
  /** Traffic in flight through the transition. */
  requests: number;
  errors: number;
  resets: number;
  stalls: number;
  longestWaitMs: number;
  /** The errors by cause (ECONNRESET, timeout, closed, "long …" for the long transfers, moved). */
  errorKinds: Record<string, number>;
  /** Join only: of NEW_FLOWS new connections opened once the host is in, how many it served, how many failed. */
  joinerServed?: number;
  newFailures?: number;
}

/** The holder's reasons and samples of a check, for a figure's JSON. */
const why = (k: KeptReport): Pick<Sample, 'brokenWhy' | 'brokenSamples'> => ({
  brokenWhy: k.check.reasons,
  brokenSamples: k.check.samples,
});

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

function trafficFigures(
  t: TrafficReport,
): Pick<Sample, 'requests' | 'errors' | 'resets' | 'stalls' | 'longestWaitMs' | 'errorKinds'> {
  const resets = Object.entries(t.errors)
    .filter(([k]) => k.includes('ECONNRESET'))
    .reduce((a, [, n]) => a + n, 0);
  return {
    requests: t.requests,
    errors: sum(t.errors) + t.moved,
    resets,
    stalls: t.stalls,
    longestWaitMs: t.longestWaitMs,
    errorKinds: { ...t.errors, ...(t.moved > 0 ? { moved: t.moved } : {}) },
  };
}

/** Runs `step` with traffic in flight to `target` from before it starts until it has ended. */
async function withTraffic<T>(lab: Lab, target: string, step: () => Promise<T>): Promise<[T, TrafficReport]> {
  const traffic = await Traffic.start(lab, { target, everyMs: TRAFFIC_EVERY_MS, long: TRAFFIC_LONG });
  try {
    const r = await step();
    return [r, await traffic.stop()];
  } catch (err) {
    await traffic.stop().catch(() => undefined);
    throw err;
  }
}

type Scenario = (
  lab: Lab,
  agents: HostAgents,
  xdp: boolean,
  target: string,
) => Promise<Record<string, Sample>>;

/** Each scenario leaves the lab as it found it; it may report several figures (a step and its return). */
const SCENARIO_STEPS: Record<string, Scenario> = {
  drain: async (lab, agents, _xdp, target) => {
    const [d, t] = await withTraffic(lab, target, () => drainAndBack(lab, agents, 'h3', HELD, target));
    const traffic = trafficFigures(t);
    return {
      'drain h3 (held through drain and undrain)': {
        broken: d.afterBack.brokenHealthy - (d.afterBack.check.broken.h3 ?? 0),
        leavingOwn: d.afterBack.check.broken.h3 ?? 0,
        ...why(d.afterBack),
        ...traffic,
      },
      'undrain h3 (opened while drained)': {
        broken: d.openedWhileOut.settled.brokenHealthy,
        leavingOwn: 0,
        brokenAtReturn: d.openedWhileOut.atBack.brokenHealthy,
        ...why(d.openedWhileOut.settled),
        ...traffic,
      },
    };
  },
  shut: async (lab, _agents, _xdp, target) => {
    const [s, t] = await withTraffic(lab, target, () => shutSessionsAndBack(lab, 'h3', HELD, target));
    const traffic = trafficFigures(t);
    return {
      "shut h3's sessions and back (held through)": {
        broken: s.afterBack.brokenHealthy,
        leavingOwn: s.afterBack.brokenFailed,
        ...why(s.afterBack),
        ...traffic,
      },
      "h3's sessions back (opened while shut)": {
        broken: s.openedWhileOut.settled.brokenHealthy,
        leavingOwn: 0,
        brokenAtReturn: s.openedWhileOut.atBack.brokenHealthy,
        ...why(s.openedWhileOut.settled),
        ...traffic,
      },
    };
  },
  join: async (lab, agents, xdp, target) => {
    try {
      const [j, t] = await withTraffic(lab, target, () => joinHost(lab, agents, 'h4', HELD, xdp, target));
      return {
        'add h4': {
          broken: j.settled.brokenHealthy,
          leavingOwn: 0,
          ...why(j.settled),
          ...trafficFigures(t),
          joinerServed: j.newFlows.counts.h4 ?? 0,
          newFailures: j.newFlows.failures,
        },
      };
    } finally {
      // also after a failed join: the next scenario needs the lab of three hosts
      if (lab.hosts.includes('h4')) await leaveHost(lab, agents, 'h4');
    }
  },
  kill: async (lab, agents, _xdp, target) => {
    try {
      const [k, t] = await withTraffic(lab, target, () => failService(lab, 'h2', HELD, target));
      return {
        "kill h2's service": {
          broken: k.kept.brokenHealthy,
          leavingOwn: k.kept.brokenFailed,
          ...why(k.kept),
          ...trafficFigures(t),
        },
      };
    } finally {
      await restoreService(lab, agents, 'h2');
    }
  },
};

interface Dist {
  min: number;
  median: number;
  max: number;
  runs: number[];
}

function dist(xs: number[]): Dist {
  const s = [...xs].sort((a, b) => a - b);
  return {
    min: s[0] ?? Number.NaN,
    median: s[Math.floor((s.length - 1) / 2)] ?? Number.NaN,
    max: s.at(-1) ?? Number.NaN,
    runs: xs,
  };
}

const fmt = (d: Dist): string => (d.min === d.max ? `${d.min}` : `${d.median} [${d.min}–${d.max}]`);

/** samples[mode][family][figure] = one Sample per run. */
type Samples = Record<Mode, Record<string, Record<string, Sample[]>>>;

export async function run(): Promise<BenchOutput> {
  const lab = await buildLab();
  const samples = { ours: {}, 'plain ECMP': {}, resilient: {} } as Samples;
  let mirror: ResilientMirror | undefined;
  const failures: { mode: Mode; family: 4 | 6; run: number; scenario: string; error: string }[] = [];
  try {
    const agents = new HostAgents(lab);
    await bringUp(lab, agents);
    let detached = false;
    for (const mode of MODES) {
      if (mode !== 'ours' && !detached) {
        for (const h of HOSTS) agents.detachXdp(h);
        detached = true;
      }
      if (mode === 'resilient') mirror = await ResilientMirror.start(lab);
      for (const family of FAMILIES) {
        const byFigure: Record<string, Sample[]> = {};
        samples[mode][`IPv${family}`] = byFigure;
        for (let r = 0; r < RUNS; r++)
          for (const name of SCENARIOS) {
            const step = SCENARIO_STEPS[name];
            if (!step)
              throw new Error(`unknown scenario ${name} (one of ${Object.keys(SCENARIO_STEPS).join(',')})`);
            let out: Record<string, Sample>;
            try {
              out = await step(lab, agents, mode === 'ours', VIP[family]);
            } catch (err) {
              // One failed step (a lab timeout on a loaded box) is reported, not the end of the run: the
              // scenarios restore the lab in their own finally blocks.
              const error = err instanceof Error ? err.message : String(err);
              failures.push({ mode, family, run: r + 1, scenario: name, error });
              process.stderr.write(`keeping: ${mode} IPv${family} run ${r + 1} ${name} failed: ${error}\n`);
              continue;
            }
            for (const [figure, s] of Object.entries(out)) {
              const list = byFigure[figure] ?? [];
              list.push(s);
              byFigure[figure] = list;
            }
          }
      }
    }
  } finally {
    await mirror?.stop().catch(() => undefined);
    lab.teardown();
  }
  const data = {
    held: HELD,
    resilientMirror: mirror
      ? {
          changes: mirror.changes,
          backstopChanges: mirror.backstopChanges,
          failures: mirror.failures,
          lastError: mirror.lastError,
        }
      : null,
    runs: RUNS,
    failures,
    traffic: { everyMs: TRAFFIC_EVERY_MS, long: TRAFFIC_LONG },
    figures: Object.fromEntries(
      MODES.map((mode) => [
        mode,
        Object.fromEntries(
          Object.entries(samples[mode]).map(([fam, figs]) => [
            fam,
            Object.fromEntries(
              Object.entries(figs).map(([figure, ss]) => [
                figure,
                Object.fromEntries(
                  (
                    [
                      'broken',
                      'brokenAtReturn',
                      'leavingOwn',
                      'errors',
                      'resets',
                      'stalls',
                      'longestWaitMs',
                      'requests',
                      'joinerServed',
                      'newFailures',
                    ] as const
                  )
                    .filter((k) => ss.every((s) => s[k] !== undefined))
                    .map((k): [string, Dist | Record<string, number>[] | string[][]] => [
                      k,
                      dist(ss.map((s) => s[k] ?? 0)),
                    ])
                    .concat([
                      ['errorKinds', ss.map((s) => s.errorKinds)],
                      ['brokenWhy', ss.map((s) => s.brokenWhy)],
                      ['brokenSamples', ss.map((s) => s.brokenSamples)],
                    ]),
                ),
              ]),
            ),
          ]),
        ),
      ]),
    ) as Record<Mode, Record<string, Record<string, Record<keyof Sample, Dist>>>>,
  };
  const lines: string[] = [
    `${HELD} held, ${RUNS} runs each, traffic in flight: a short request every ${TRAFFIC_EVERY_MS} ms and ` +
      `${TRAFFIC_LONG} long transfers; figures as median [min–max] over the runs`,
  ];
  for (const fam of FAMILIES.map((f) => `IPv${f}`))
    for (const figure of Object.keys(data.figures.ours[fam] ?? {})) {
      const per = MODES.map((m) => data.figures[m][fam]?.[figure]);
      if (per.some((x) => !x)) continue;
      const all = (k: keyof Sample): string => per.map((x) => fmt(x![k])).join(' / ');
      lines.push(
        `${fam} ${figure} (${MODES.join(' / ')}): held broken ${all('broken')}` +
          (per.every((x) => x!.brokenAtReturn) ? ` (at the return ${all('brokenAtReturn')})` : '') +
          `; the leaving host's own ` +
          `${all('leavingOwn')}; in flight (of ~${per[0]!.requests.median} requests) errors ${all('errors')}, ` +
          `resets ${all('resets')}, stalls > 1 s ${all('stalls')}` +
          (per[0]!.joinerServed
            ? `; of ${NEW_FLOWS} new connections once h4 was in, h4 served ${all('joinerServed')}, ` +
              `failed ${all('newFailures')}`
            : ''),
      );
    }
  for (const f of failures)
    lines.push(`FAILED: ${f.mode} IPv${f.family} run ${f.run} ${f.scenario}: ${f.error}`);
  writeReport(data, lines);
  return { report: lines.join('\n'), data };
}

function writeReport(
  data: { held: number; figures: Record<Mode, Record<string, Record<string, Record<string, Dist>>>> },
  lines: string[],
): void {
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const bars = `keeping-${stamp}.svg`;
  const groups: Record<string, Record<string, number>> = {};
  for (const [fam, figs] of Object.entries(data.figures.ours))
    for (const figure of Object.keys(figs))
      groups[`${fam} ${figure}`] = Object.fromEntries(
        MODES.map((m) => [m, data.figures[m][fam]?.[figure]?.broken?.median ?? 0]),
      );
  writeFileSync(
    join(RESULTS, bars),
    barsSvg(
      `held connections broken among healthy instances (of ${data.held}, median of the runs)`,
      'connections broken',
      groups,
    ),
  );
  writeMarkdownReport({
    file: join(RESULTS, `keeping-${stamp}.md`),
    title: 'anycastd lab benchmark: keeping scenarios',
    lines,
    images: [['connections', bars]],
    data,
  });
}
