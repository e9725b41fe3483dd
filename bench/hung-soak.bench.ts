// False withdrawals of a loaded but healthy service: every lab host's agent with the hung-service check
// (bench/hung-config.ts 'ours': HTTP every 1 s, fast 50 ms, timeout 150 ms, fall 2, stall signs on), the
// lab's load generator (lab/load.ts) on the VIP at the machine's limit (no pause between requests) for
// SOAK_S seconds; counted: each agent's local instance going down (its health-transition log) and the
// VIP route changes at each ToR (any: with healthy services there should be none). The stall signs
// fire on such a box (services wait for the CPU); only the fast probes decide.
import { HOSTS, type HostName, TORS, VIP4, VIP6 } from '../lab/addressing.js';
import { HostAgents } from '../lab/agents.js';
import { startLoadIn } from '../lab/apps.js';
import { sleep } from '../lab/exec.js';
import { waitVipAt } from '../lab/fabric-checks.js';
import type { LabProcess } from '../lab/processes.js';
import { RouteWatch, wallNow } from '../lab/route-watch.js';
import { buildLab } from '../lab/topology.js';
import { writeHostConfig } from './hung-config.js';
import type { BenchOutput } from './run.js';

const SOAK_S = Number(process.env.ANYCASTD_BENCH_HUNG_SOAK_S ?? 600);
const CONCURRENCY = Number(process.env.ANYCASTD_BENCH_HUNG_SOAK_CONCURRENCY ?? 64);
const SESSIONS_TIMEOUT_MS = 30_000;
const MS_PER_S = 1000;
const LOAD_STOP_GRACE_MS = 1000;
const DETAILS_PER_HOST = 5;

interface LoadCounts {
  ok: number;
  errors: number;
  byHost: Record<string, number>;
  elapsedMs: number;
}

export async function run(): Promise<BenchOutput> {
  const t0 = performance.now();
  const lab = await buildLab();
  let load: LabProcess | undefined;
  const watches: RouteWatch[] = [];
  try {
    const agents = new HostAgents(lab);
    await agents.prepare();
    for (const h of HOSTS) writeHostConfig(agents, h, 'ours');
    await agents.startAll();
    await lab.waitEstablished(HOSTS, SESSIONS_TIMEOUT_MS);
    await waitVipAt(lab, HOSTS);
    for (const t of TORS) watches.push(await RouteWatch.start(lab.procs, lab.ns(t), lab.dir));
    const from = Object.fromEntries(HOSTS.map((h) => [h, agents.events(h).length])) as Record<
      HostName,
      number
    >;
    const startWall = wallNow();
    load = startLoadIn(lab.procs, lab.ns('client'), lab.dir, { target: VIP4, concurrency: CONCURRENCY });
    const loadProc = load;
    await sleep(SOAK_S * MS_PER_S);
    const endWall = wallNow();
    const loadavg = (await import('node:os')).loadavg()[0]!;
    await lab.procs.stop(loadProc, 'SIGTERM');
    load = undefined;
    await sleep(LOAD_STOP_GRACE_MS);
    const counts = JSON.parse(
      (await import('node:fs')).readFileSync(loadProc.logFile, 'utf8').trim().split('\n').at(-1) ?? '{}',
    ) as LoadCounts;
    const downEvents = (h: HostName, local: boolean) =>
      agents
        .events(h)
        .slice(from[h])
        .filter((e) => e.event === 'health-transition' && e.local === local && e.to === 'down');
    const downs = Object.fromEntries(HOSTS.map((h) => [h, downEvents(h, true).length])) as Record<
      HostName,
      number
    >;
    // What each false down said (the first few per host), and the remote instances each host's checks
    // took down (out of its rings only: no route change, but flows moved).
    const downDetails = HOSTS.flatMap((h) =>
      downEvents(h, true)
        .slice(0, DETAILS_PER_HOST)
        .map((e) => `${h}: ${String(e.detail)}`),
    );
    const remoteDowns = Object.fromEntries(HOSTS.map((h) => [h, downEvents(h, false).length]));
    const routeChanges = Object.fromEntries(
      TORS.map((t, i) => [
        t,
        watches[i]!.events.filter(
          (e) =>
            e.at >= startWall &&
            e.at <= endWall &&
            (e.line.includes(`${VIP4} `) || e.line.includes(`${VIP6} `)),
        ).length,
      ]),
    );
    const withdrawals = Object.values(downs).reduce((a, b) => a + b, 0);
    const data = {
      soakS: SOAK_S,
      concurrency: CONCURRENCY,
      requestsPerS: Math.round(counts.ok / (counts.elapsedMs / MS_PER_S)),
      load: counts,
      loadavg1: Math.round(loadavg * 10) / 10,
      localDowns: downs,
      downDetails,
      remoteDowns,
      withdrawals,
      routeChanges,
      totalS: Math.round((performance.now() - t0) / MS_PER_S),
    };
    const lines = [
      `false withdrawals: ${SOAK_S} s of the load generator on the VIP at the machine's limit ` +
        `(${CONCURRENCY} workers, ${data.requestsPerS} req/s ok, ${counts.errors} errors; load average ${data.loadavg1}), ` +
        'every host checked by HTTP 1 s / fast 50 ms / timeout 150 ms / fall 2 with the stall signs:',
      `  local instance down: ${HOSTS.map((h) => `${h} ${downs[h]}`).join(', ')} (total ${withdrawals}); ` +
        `VIP route changes: ${TORS.map((t) => `${t} ${routeChanges[t]}`).join(', ')}`,
      `  remote instances down (rings only): ${HOSTS.map((h) => `${h} ${remoteDowns[h]}`).join(', ')}`,
      ...downDetails.map((d) => `  down: ${d}`),
      `  answered per host: ${JSON.stringify(counts.byHost)}; total ${data.totalS} s`,
    ];
    return { report: lines.join('\n'), data };
  } finally {
    if (load) await lab.procs.stop(load);
    await Promise.all(watches.map((w) => w.stop()));
    lab.teardown();
  }
}
