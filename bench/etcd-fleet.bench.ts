// Fleet mode at scale: a simulated fleet of 10 / 100 / 1,000 agents — the real registration and watch code
// of src/cluster/etcd (fleet.ts: an EtcdNode per agent, many per process, bench/etcd-fleet-child.ts; up
// to 250 agents in a process, a fleet of 1,000 over 4, their timestamps on the host's one monotonic
// clock) — on the lab's 3-member etcd (lab/etcd.ts: one namespace per member, mutual TLS) on this machine. Per
// fleet size: the time from one membership change (an agent leaving, or joining again) to every agent
// holding the new membership (its watch delivered the write's revision) plus one ring digest computation
// (the same function every agent runs on its own CPU), p50/p99 over every agent of every change, and
// the slowest agent per change; at steady state (no change, keepalives only) the writes per second,
// etcd's bytes, the fleet process's CPU per agent and the members' CPU. Beside it the mesh backend
// (bench/mesh-fleet-child.ts): its long polls n·(n−1) and the CPU of 10 / 50 / 100 real src/cluster
// Clusters in one process. Knobs: ANYCASTD_BENCH_FLEET_SIZES (10,100,1000), ANYCASTD_BENCH_FLEET_PROCS (0: by size), ANYCASTD_BENCH_FLEET_CHANGES
// (20), ANYCASTD_BENCH_FLEET_STEADY_S (30), ANYCASTD_BENCH_MESH_SIZES (10,20,50,100), ANYCASTD_BENCH_MESH_STEADY_S (30).

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EtcdCluster, startEtcdCluster } from '../lab/etcd.js';
import { run as runCommand } from '../lab/exec.js';
import { LineChild } from '../lab/line-child.js';
import { createNetns, removeNetnsByPrefix, uniquePrefix } from '../lab/netns.js';
import { ProcessRegistry } from '../lab/processes.js';
import { POLL_WAIT_MS } from '../src/cluster/poller.js';
import { machineLine } from './report.js';
import type { BenchOutput } from './run.js';

const FLEET_CHILD = fileURLToPath(new URL('./etcd-fleet-child.ts', import.meta.url));
const MESH_CHILD = fileURLToPath(new URL('./mesh-fleet-child.ts', import.meta.url));
const numbers = (env: string | undefined, dflt: string): number[] =>
  (env ?? dflt)
    .split(',')
    .filter((x) => x.trim() !== '')
    .map((x) => Number.parseInt(x, 10));
const SIZES = numbers(process.env.ANYCASTD_BENCH_FLEET_SIZES, '10,100,1000');
const CHANGES = Number(process.env.ANYCASTD_BENCH_FLEET_CHANGES ?? 20);
const STEADY_S = Number(process.env.ANYCASTD_BENCH_FLEET_STEADY_S ?? 30);
const MESH_SIZES = numbers(process.env.ANYCASTD_BENCH_MESH_SIZES, '10,20,50,100');
const MESH_STEADY_S = Number(process.env.ANYCASTD_BENCH_MESH_STEADY_S ?? 30);
/** The agents' lease TTL (the config's default). */
const LEASE_TTL_MS = 10_000;
/** Agents per etcd client (one gRPC channel; its watches share a stream). */
const AGENTS_PER_CLIENT = 10;
/** Fleet processes (0: one per AGENTS_PER_PROCESS agents, at most MAX_FLEET_PROCS). */
const FLEET_PROCS = Number(process.env.ANYCASTD_BENCH_FLEET_PROCS ?? 0);
/** A process holds at most this many agents (10 and 100 run in one, as their earlier figures did). */
const AGENTS_PER_PROCESS = 250;
/** Two cores here: more processes than 4 only queue behind each other. */
const MAX_FLEET_PROCS = 4;
/** The changing agent moves this far each change (a prime: the changes reach every process). */
const AGENT_STRIDE = 97;
/** The warm-up change may wait this long for the last watch to go live. */
const WARMUP_TIMEOUT_MS = 60_000;
/** The issue's aim at 1,000 agents. */
const AIM_P99_MS = 500;
/** A fleet of 1,000 takes minutes to register on a loaded box (100 took 24 s at load 30). */
const CHILD_ANSWER_MS = 900_000;
const MS_PER_S = 1000;
/** Hosts per mesh process: two sockets per long poll, 100 hosts in one would pass 20,000 open files. */
const MESH_HOSTS_PER_PROCESS = 50;
const MESH_KEY_BYTES = 32;
/** The pollers' long-poll wait: each remote host is asked again this often when quiet. */
const MESH_POLL_WAIT_S = POLL_WAIT_MS / MS_PER_S;
/** Report changes of host 1 timed to every other host. */
const MESH_CHANGES = 6;
const MESH_FAILED: Omit<MeshFigures, 'hosts' | 'error'> = {
  polls: Number.NaN,
  processes: 0,
  cpuPct: Number.NaN,
  cpuUsPerHostPerS: Number.NaN,
  requestsPerS: Number.NaN,
  changeP50: Number.NaN,
  changeMax: Number.NaN,
};

interface SteadyAnswer {
  seconds: number;
  writes: number;
  watchRestarts: number;
  watchStalls: number;
  leasesLost: number;
  cpuMs: number;
  rssMb: number;
  etcd: Record<string, number>;
  error?: string;
}

export interface FleetFigures {
  size: number;
  /** Processes the agents were spread over (their shares' figures summed). */
  processes: number;
  startMs: number;
  /** After the start: a drain and undrain of one agent until every agent had both (ms). */
  warmupMs: number;
  changes: number;
  /** Per agent per change: delivery + one digest computation (ms). */
  p50: number;
  p99: number;
  /** The slowest agent of each change: p50 and max over the changes (ms). */
  allP50: number;
  allMax: number;
  /** The slowest agent of each change, in order (ms). */
  perChange: number[];
  digestMs: number;
  agreeAll: boolean;
  /** CPU of the fleet's processes over the timed changes, per agent per change (µs). */
  changeCpuUsPerAgent: number;
  steady: {
    writesPerS: number;
    etcdWritesPerS: number;
    etcdBytesInPerS: number;
    etcdBytesOutPerS: number;
    etcdPeerBytesPerS: number;
    fleetCpuPct: number;
    cpuUsPerAgentPerS: number;
    etcdCpuPct: number;
    rssMb: number;
    leasesLost: number;
    watchRestarts: number;
    watchStalls: number;
  };
}

export interface MeshFigures {
  hosts: number;
  /** Long polls held: n·(n−1) (one service on every host). */
  polls: number;
  /** Processes the hosts were split over. */
  processes: number;
  cpuPct: number;
  cpuUsPerHostPerS: number;
  requestsPerS: number;
  /** One host's report changed → every other host has it (ms): p50, max. */
  changeP50: number;
  changeMax: number;
  error?: string;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** utime + stime of `pid` in ms (/proc/<pid>/stat fields 14 and 15, clock ticks). */
function cpuMsOf(pid: number, ticksPerS: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): utime is field 14, stime 15.
    return ((Number(f[11]) + Number(f[12])) / ticksPerS) * MS_PER_S;
  } catch {
    return 0;
  }
}

async function ask<T extends { error?: string }>(child: LineChild, line: string): Promise<T> {
  const a = await child.ask<T>(line);
  if (a.error) throw new Error(`${line.split(' ')[0]}: ${a.error}`);
  return a;
}

/** Processes a fleet of `size` is spread over: ANYCASTD_BENCH_FLEET_PROCS, else one per AGENTS_PER_PROCESS. */
function processesFor(size: number): number {
  const n = FLEET_PROCS > 0 ? FLEET_PROCS : Math.ceil(size / AGENTS_PER_PROCESS);
  return Math.max(1, Math.min(MAX_FLEET_PROCS, n, size));
}

/** One fleet process and the agents it holds: [first, first + size). */
interface Share {
  child: LineChild;
  first: number;
  size: number;
}

/** One change by `agent`, timed in every process on the host's one monotonic clock. */
async function timedChange(
  shares: readonly Share[],
  kind: string,
  agent: number,
  timeoutMs?: number,
): Promise<{ deliveryMs: number[]; digestMs: number; digests: Set<string> }> {
  const owner = shares.find((s) => agent >= s.first && agent < s.first + s.size);
  if (!owner) throw new RangeError(`no process holds agent ${agent}`);
  await Promise.all(shares.map((s) => ask(s.child, 'arm')));
  const w = await ask<{ rev: number | null; t0: number; error?: string }>(
    owner.child,
    `write ${JSON.stringify({ kind, agent })}`,
  );
  const rev = w.rev ?? 0; // nothing written: every agent already holds it
  const got = await Promise.all(
    shares.map((s) =>
      ask<{ at: number[]; error?: string }>(s.child, `collect ${JSON.stringify({ rev, timeoutMs })}`),
    ),
  );
  const deliveryMs = got.flatMap((g) => g.at.map((t) => (w.rev === null ? 0 : Math.max(0, t - w.t0))));
  const held = await Promise.all(
    shares.map((s) => ask<{ digests: string[]; digestMs: number; error?: string }>(s.child, 'digests')),
  );
  const digests = new Set(held.flatMap((h) => h.digests));
  return { deliveryMs, digestMs: held[shares.indexOf(owner)]!.digestMs, digests };
}

async function fleetSize(
  place: { procs: ProcessRegistry; dir: string; ns: string },
  etcd: EtcdCluster,
  size: number,
  ticksPerS: number,
): Promise<FleetFigures> {
  const n = processesFor(size);
  const shares: Share[] = [];
  try {
    for (let k = 0; k < n; k++) {
      const first = Math.floor((k * size) / n);
      const to = Math.floor(((k + 1) * size) / n);
      const child = new LineChild(place, `fleet${size}-${k}`, FLEET_CHILD, [], CHILD_ANSWER_MS);
      shares.push({ child, first, size: to - first });
    }
    const t0 = performance.now();
    // Every share registers before any watch starts: a watch started first receives every other agent's
    // registration as an event (N² responses) where one started after reads the set once.
    await Promise.all(
      shares.map((s) =>
        ask(
          s.child,
          `start ${JSON.stringify({
            size: s.size,
            first: s.first,
            prefix: `/bench/fleet${size}`,
            endpoints: etcd.endpoints,
            ...etcd.tls,
            leaseTtlMs: LEASE_TTL_MS,
            agentsPerClient: AGENTS_PER_CLIENT,
          })}`,
        ),
      ),
    );
    await Promise.all(shares.map((s) => ask(s.child, 'watch')));
    const startMs = performance.now() - t0;
    // Every agent has read the set; its watch may go live later (the etcd client creates a channel's
    // watchers one after another). A drain and undrain of the last agent, not counted, shows when every
    // watch delivers — and names any that never does.
    const warm = performance.now();
    for (const kind of ['drain', 'undrain']) await timedChange(shares, kind, size - 1, WARMUP_TIMEOUT_MS);
    const warmupMs = performance.now() - warm;
    const cpuOf = () => shares.reduce((sum, s) => sum + cpuMsOf(s.child.pid, ticksPerS), 0);
    const changeCpu0 = cpuOf();
    const samples: number[] = [];
    const slowest: number[] = [];
    const digests: number[] = [];
    let agreeAll = true;
    for (let i = 0; i < CHANGES; i++) {
      // Leave then join again, each time another agent (spread over the fleet and its processes).
      const agent = (Math.floor(i / 2) * AGENT_STRIDE) % size;
      const kind = i % 2 === 0 ? 'leave' : 'join';
      const a = await timedChange(shares, kind, agent);
      for (const d of a.deliveryMs) samples.push(d + a.digestMs);
      slowest.push(Math.max(...a.deliveryMs) + a.digestMs);
      digests.push(a.digestMs);
      agreeAll &&= a.digests.size === 1;
    }
    const changeCpuMs = cpuOf() - changeCpu0;
    const pids = etcd.running().map((m) => m.pid);
    const etcdCpu0 = pids.reduce((s, p) => s + cpuMsOf(p, ticksPerS), 0);
    const urls = etcd.members.map((m) => m.metricsUrl);
    const parts = await Promise.all(
      shares.map((s, k) =>
        ask<SteadyAnswer>(
          s.child,
          `steady ${JSON.stringify({ seconds: STEADY_S, metricsUrls: k === 0 ? urls : [] })}`,
        ),
      ),
    );
    const etcdCpuMs = pids.reduce((s, p) => s + cpuMsOf(p, ticksPerS), 0) - etcdCpu0;
    const st = {
      seconds: Math.max(...parts.map((p) => p.seconds)),
      writes: parts.reduce((x, p) => x + p.writes, 0),
      cpuMs: parts.reduce((x, p) => x + p.cpuMs, 0),
      rssMb: parts.reduce((x, p) => x + p.rssMb, 0),
      leasesLost: parts.reduce((x, p) => x + p.leasesLost, 0),
      watchRestarts: parts.reduce((x, p) => x + p.watchRestarts, 0),
      watchStalls: parts.reduce((x, p) => x + p.watchStalls, 0),
      etcd: parts[0]!.etcd,
    };
    await Promise.all(shares.map((s) => ask(s.child, 'close')));
    const perChange = [...slowest];
    samples.sort((x, y) => x - y);
    slowest.sort((x, y) => x - y);
    const perS = (x: number) => x / st.seconds;
    return {
      size,
      processes: n,
      startMs,
      warmupMs,
      changes: CHANGES,
      p50: quantile(samples, 0.5),
      p99: quantile(samples, 0.99),
      allP50: quantile(slowest, 0.5),
      allMax: slowest.at(-1) ?? Number.NaN,
      perChange,
      digestMs: quantile(
        [...digests].sort((x, y) => x - y),
        0.5,
      ),
      agreeAll,
      changeCpuUsPerAgent: (changeCpuMs * MS_PER_S) / CHANGES / size,
      steady: {
        writesPerS: perS(st.writes),
        etcdWritesPerS: perS((st.etcd.etcd_mvcc_put_total ?? 0) + (st.etcd.etcd_mvcc_delete_total ?? 0)),
        etcdBytesInPerS: perS(st.etcd.etcd_network_client_grpc_received_bytes_total ?? 0),
        etcdBytesOutPerS: perS(st.etcd.etcd_network_client_grpc_sent_bytes_total ?? 0),
        etcdPeerBytesPerS: perS(st.etcd.etcd_network_peer_sent_bytes_total ?? 0),
        fleetCpuPct: (st.cpuMs / (st.seconds * MS_PER_S)) * 100,
        cpuUsPerAgentPerS: (st.cpuMs * MS_PER_S) / st.seconds / size,
        etcdCpuPct: (etcdCpuMs / (st.seconds * MS_PER_S)) * 100,
        rssMb: st.rssMb,
        leasesLost: st.leasesLost,
        watchRestarts: st.watchRestarts,
        watchStalls: st.watchStalls,
      },
    };
  } finally {
    for (const s of shares) await s.child.stop();
  }
}

/** The mesh of `hosts` split over processes of at most MESH_HOSTS_PER_PROCESS hosts, in one namespace. */
async function meshSize(
  procs: ProcessRegistry,
  dir: string,
  prefix: string,
  hosts: number,
): Promise<MeshFigures> {
  const ns = createNetns(prefix, `mesh${hosts}`);
  const key = randomBytes(MESH_KEY_BYTES).toString('hex');
  const children: LineChild[] = [];
  try {
    for (let from = 1; from <= hosts; from += MESH_HOSTS_PER_PROCESS) {
      const to = Math.min(hosts, from + MESH_HOSTS_PER_PROCESS - 1);
      const child = new LineChild(
        { procs, dir, ns: ns.name },
        `mesh${hosts}-${from}`,
        MESH_CHILD,
        [],
        CHILD_ANSWER_MS,
      );
      children.push(child);
      await ask(child, `start ${JSON.stringify({ hosts, from, to, key })}`);
    }
    const all = (line: string) => Promise.all(children.map((c) => ask<{ error?: string }>(c, line)));
    await all('settled');
    const st = (await all(`steady ${JSON.stringify({ seconds: MESH_STEADY_S })}`)) as unknown as {
      cpuMs: number;
      seconds: number;
      replies: number;
    }[];
    const seconds = Math.max(...st.map((x) => x.seconds));
    const cpuMs = st.reduce((s, x) => s + x.cpuMs, 0);
    const times: number[] = [];
    for (let k = 0; k < MESH_CHANGES; k++) {
      const state = k % 2 === 0 ? 'drained' : 'up';
      const t0 = performance.now();
      await ask(children[0]!, `publish ${JSON.stringify({ host: 1, state })}`);
      await all(`seen ${JSON.stringify({ host: 1, state })}`);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return {
      hosts,
      polls: hosts * (hosts - 1),
      processes: children.length,
      cpuPct: (cpuMs / (seconds * MS_PER_S)) * 100,
      cpuUsPerHostPerS: (cpuMs * MS_PER_S) / seconds / hosts,
      requestsPerS: st.reduce((s, x) => s + x.replies, 0) / seconds,
      changeP50: quantile(times, 0.5),
      changeMax: times.at(-1) ?? Number.NaN,
    };
  } catch (err) {
    return { ...MESH_FAILED, hosts, error: err instanceof Error ? err.message : String(err) };
  } finally {
    for (const c of children) await c.stop();
    removeNetnsByPrefix(ns.name);
  }
}

const fmt = (x: number, digits = 0): string =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';

function report(fleet: FleetFigures[], mesh: MeshFigures[]): string {
  const lines = [`machine: ${machineLine()} (other work may be running: read ratios within one run)`];
  lines.push('etcd (3 members, mTLS) — change → every agent holds the new membership and its digest:');
  for (const f of fleet) {
    const s = f.steady;
    lines.push(
      `  ${fmt(f.size)} agents: p50 ${fmt(f.p50, 1)} ms, p99 ${fmt(f.p99, 1)} ms per agent; slowest agent p50 ${fmt(f.allP50, 1)} ms, max ${fmt(f.allMax, 1)} ms` +
        ` (${f.changes} changes; digest ${fmt(f.digestMs, 2)} ms; ${f.agreeAll ? 'all digests agree' : 'DIGESTS DISAGREE'}; ${f.processes} process${f.processes === 1 ? '' : 'es'}; registered and watching in ${fmt(f.startMs / MS_PER_S, 1)} s, every watch live ${fmt(f.warmupMs / MS_PER_S, 1)} s later; ${fmt(f.changeCpuUsPerAgent, 0)} µs CPU per agent per change)`,
      `    steady: ${fmt(s.writesPerS, 2)} writes/s by agents, ${fmt(s.etcdWritesPerS, 2)} applied by etcd; etcd gRPC in ${fmt(s.etcdBytesInPerS)} B/s, out ${fmt(s.etcdBytesOutPerS)} B/s, peers ${fmt(s.etcdPeerBytesPerS)} B/s;` +
        ` fleet CPU ${fmt(s.fleetCpuPct, 1)}% (${fmt(s.cpuUsPerAgentPerS, 1)} µs/s per agent, RSS ${fmt(s.rssMb)} MB), etcd members ${fmt(s.etcdCpuPct, 1)}%; leases lost ${s.leasesLost}, watch restarts ${s.watchRestarts} (stuck ${s.watchStalls})`,
    );
  }
  const big = fleet.find((f) => f.size === 1000);
  if (big)
    lines.push(
      `  aim p99 < ${AIM_P99_MS} ms at 1,000 agents: ${big.p99 < AIM_P99_MS ? 'met' : 'NOT met'} (${fmt(big.p99, 1)} ms)`,
    );
  lines.push(
    'mesh (today: signed HTTP long polls, one service on every host, real src/cluster Clusters, up to 50 per process):',
  );
  for (const m of mesh) {
    if (m.error) {
      lines.push(`  ${fmt(m.hosts)} hosts: ${m.error}`);
      continue;
    }
    lines.push(
      `  ${fmt(m.hosts)} hosts: ${fmt(m.polls)} long polls; CPU ${fmt(m.cpuPct, 1)}% (${fmt(m.cpuUsPerHostPerS, 1)} µs/s per host), ${fmt(m.requestsPerS, 1)} requests/s; change → all hosts p50 ${fmt(m.changeP50, 1)} ms, max ${fmt(m.changeMax, 1)} ms`,
    );
  }
  const measured = mesh.filter((m) => !m.error && m.requestsPerS > 0);
  const usPerRequest =
    measured.length > 0
      ? measured.reduce((s, m) => s + (m.cpuUsPerHostPerS * m.hosts) / m.requestsPerS, 0) / measured.length
      : Number.NaN;
  for (const m of mesh.filter((x) => x.error)) {
    // A long poll is renewed every poll wait (10 s) per remote host: n·(n−1)/10 requests per second.
    const requestsPerS = (m.hosts * (m.hosts - 1)) / MESH_POLL_WAIT_S;
    lines.push(
      `  ${fmt(m.hosts)} hosts, computed from the measured ${fmt(usPerRequest, 0)} µs of CPU per answered poll: ${fmt(m.hosts * (m.hosts - 1))} long polls, ~${fmt(requestsPerS)} requests/s, ~${fmt((usPerRequest * requestsPerS) / 1e4, 1)}% of a core (${fmt((usPerRequest * requestsPerS) / m.hosts, 0)} µs/s per host)`,
    );
  }
  const f100 = fleet.find((f) => f.size === 100);
  const m100 = mesh.find((m) => m.hosts === 100);
  if (f100 && m100 && !m100.error)
    lines.push(
      `  at 100: connections to the store ${fmt(Math.ceil(100 / AGENTS_PER_CLIENT))}–100 (one per agent in production) vs ${fmt(m100.polls)} long polls (×${fmt(m100.polls / 100)});` +
        ` CPU per host ${fmt(f100.steady.cpuUsPerAgentPerS, 1)} vs ${fmt(m100.cpuUsPerHostPerS, 1)} µs/s (×${fmt(m100.cpuUsPerHostPerS / f100.steady.cpuUsPerAgentPerS, 1)})`,
    );
  return lines.join('\n');
}

/** The fleet code this bench drives (the child imports it, or ANYCASTD_FLEET_MODULE). */
const FLEET_SOURCE = fileURLToPath(new URL('../src/cluster/etcd/fleet.ts', import.meta.url));

export async function run(): Promise<BenchOutput> {
  if (!existsSync(FLEET_SOURCE) && !process.env.ANYCASTD_FLEET_MODULE)
    return { report: '(skipped: no src/cluster/etcd/fleet.ts in this tree)', data: { skipped: true } };
  const prefix = uniquePrefix('etcdl');
  const dir = mkdtempSync(join(tmpdir(), 'acd-etcd-fleet-'));
  const procs = new ProcessRegistry();
  const ticksPerS = Number(runCommand('getconf', ['CLK_TCK']).trim());
  let etcd: EtcdCluster | undefined;
  try {
    etcd = await startEtcdCluster({ prefix, dir });
    const ns = createNetns(prefix, 'fleet');
    etcd.attach(ns.name, 'fleet');
    const fleet: FleetFigures[] = [];
    for (const size of SIZES) fleet.push(await fleetSize({ procs, dir, ns: ns.name }, etcd, size, ticksPerS));
    const mesh: MeshFigures[] = [];
    for (const hosts of MESH_SIZES) mesh.push(await meshSize(procs, dir, prefix, hosts));
    return {
      report: report(fleet, mesh),
      data: {
        fleet,
        mesh,
        knobs: {
          SIZES,
          FLEET_PROCS,
          CHANGES,
          STEADY_S,
          MESH_SIZES,
          MESH_STEADY_S,
          LEASE_TTL_MS,
          AGENTS_PER_CLIENT,
        },
      },
    };
  } finally {
    await procs.stopAll();
    await etcd?.stop();
    removeNetnsByPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}
