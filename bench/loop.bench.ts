// Nothing heavy on the agent's event loop, each figure beside its baseline measured in the same run:
//  - the Maglev build (65,537 entries) at 100 and 1,000 instances: the new build against the former one
//    (test/steer/maglev-oracle.ts), medians of interleaved rounds;
//  - one membership change (one instance leaves) on a real Dataplane: the former path (former build,
//    members → slots through a Map, the write) against the new one (build, tableSlots, the write), a
//    flip back to the previous ring (no build, no write), and the kernel write of one ring alone;
//  - the event loop's delay (perf_hooks.monitorEventLoopDelay, p99 and max) while `show flows` reads a
//    full flow table: the former listing (one synchronous walk) against flowsOf (chunks, loop given back);
//  - the agent's loop delay during a failover of SERVICES services (all checking one local listener,
//    killed at once; the real agent in a namespace, bench/loop-runner.ts) with the rings' tables built
//    on the worker thread (as `anycastd run`), on the loop, and on the loop by the former build.
// Knobs: ANYCASTD_BENCH_LOOP_RUNS (9), ANYCASTD_BENCH_LOOP_FLOWS (the config's default flow table, 1 Mi),
// ANYCASTD_BENCH_LOOP_SERVICES (100, at most MAX_SERVICES), ANYCASTD_BENCH_LOOP_TRIALS (3 per mode).
import { DEFAULT_FLOW_TABLE_SIZE } from '../src/config/flow-memory.js';
import { MAX_SERVICES } from '../src/steer/layout.js';
import { type BuildMode, type FailoverLag, failoverLag } from './loop-failover.js';
import {
  fullFlowTable,
  type LagFigures,
  maglevBuild,
  median,
  ringChange,
  showFlowsLag,
  steeringChange,
} from './loop-inproc.js';
import type { BenchOutput } from './run.js';

const env = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
const RUNS = env('ANYCASTD_BENCH_LOOP_RUNS', 9);
const FLOWS = env('ANYCASTD_BENCH_LOOP_FLOWS', DEFAULT_FLOW_TABLE_SIZE);
const SERVICES = Math.min(env('ANYCASTD_BENCH_LOOP_SERVICES', 100), MAX_SERVICES);
const TRIALS = env('ANYCASTD_BENCH_LOOP_TRIALS', 3);
const MODES: readonly BuildMode[] = ['thread', 'loop', 'former'];

const f2 = (x: number): string => x.toFixed(2);
const medLag = (xs: readonly LagFigures[]) => ({
  p99Ms: median(xs.map((x) => x.p99Ms)),
  maxMs: median(xs.map((x) => x.maxMs)),
  tookMs: median(xs.map((x) => x.tookMs)),
});

export async function run(): Promise<BenchOutput> {
  const lines: string[] = [];
  const build = maglevBuild([100, 1000], RUNS);
  lines.push('Maglev build, 65,537 entries (ms, medians; ratio new/former):');
  for (const b of build)
    lines.push(
      `  ${b.instances} instances: former ${f2(b.formerMs)}  new ${f2(b.newMs)}  ratio ${f2(b.ratio)}`,
    );
  const change = ringChange([2, 100, 1000], RUNS);
  lines.push('One membership change, one ring (ms, medians):');
  for (const c of change)
    lines.push(
      `  ${c.instances} instances: former ${f2(c.formerMs)}  new ${f2(c.newMs)} (ratio ${f2(c.ratio)})  flip back ${f2(c.flipMs)}  kernel write alone ${f2(c.writeMs)}  entries changed ${c.changedEntries}`,
    );
  const agentPath = steeringChange(10, RUNS);
  lines.push(`  the agent's setRing (10 instances, on the loop, build + write): ${f2(agentPath)} ms`);
  const dp = fullFlowTable(FLOWS);
  let flows: { former: ReturnType<typeof medLag>; new: ReturnType<typeof medLag>; total: number };
  try {
    const lag = await showFlowsLag(dp, Math.max(3, Math.floor(RUNS / 3)));
    flows = { former: medLag(lag.former), new: medLag(lag.new), total: lag.new[0]!.total };
  } finally {
    dp.close();
  }
  lines.push(`show flows over ${FLOWS} flows (${flows.total} of the VIP), loop delay (ms, medians of runs):`);
  for (const k of ['former', 'new'] as const)
    lines.push(`  ${k}: p99 ${f2(flows[k].p99Ms)}  max ${f2(flows[k].maxMs)}  took ${f2(flows[k].tookMs)}`);
  lines.push(`  ratio of max (new/former): ${f2(flows.new.maxMs / flows.former.maxMs)}`);
  const failover: FailoverLag[] = [];
  for (let t = 0; t < TRIALS; t++) for (const mode of MODES) failover.push(await failoverLag(SERVICES, mode));
  lines.push(
    `Failover of ${SERVICES} services (local instance killed, the agent's loop delay until every ring landed; ms, medians of ${TRIALS}):`,
  );
  const byMode = Object.fromEntries(
    MODES.map((m) => {
      const xs = failover.filter((x) => x.mode === m);
      return [
        m,
        {
          p99Ms: median(xs.map((x) => x.p99Ms)),
          maxMs: median(xs.map((x) => x.maxMs)),
          landedMs: median(xs.map((x) => x.landedMs)),
          activeMs: median(xs.map((x) => x.activeMs)),
        },
      ];
    }),
  ) as Record<BuildMode, { p99Ms: number; maxMs: number; landedMs: number; activeMs: number }>;
  for (const m of MODES)
    lines.push(
      `  ${m}: p99 ${f2(byMode[m].p99Ms)}  max ${f2(byMode[m].maxMs)}  loop busy ${f2(byMode[m].activeMs)}  all landed after ${f2(byMode[m].landedMs)}`,
    );
  lines.push(
    `  ratio of p99 thread/former ${f2(byMode.thread.p99Ms / byMode.former.p99Ms)}, of max ${f2(byMode.thread.maxMs / byMode.former.maxMs)}`,
  );
  return {
    report: lines.join('\n'),
    data: {
      build,
      change,
      agentPath,
      flows: { count: FLOWS, ...flows },
      failover: { trials: failover, byMode },
    },
  };
}
