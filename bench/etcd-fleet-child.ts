// One of the scale bench's fleet processes (bench/etcd-fleet.bench.ts starts 1–4 in a namespace on the
// lab's management network, lab/mgmt-net.ts): its share of the N agents' real registration and watch code
// (src/cluster/etcd/fleet.ts — an EtcdNode each: a lease, its instance key, a watch, the membership),
// against the lab's 3-member etcd over mutual TLS. Driven over stdin, one JSON line out per command
// (lab/line-child.ts); times are the host's CLOCK_MONOTONIC in ms (process.hrtime), one clock for every
// process of the bench:
//   start {size, first, prefix, endpoints, caFile, certFile, keyFile, leaseTtlMs, agentsPerClient}
//        → {ms}: agents a<first> … a<first+size−1> registered (no watch yet)
//   watch → {ms}: every agent of this process has read the set and watches
//   arm → {}: record when each agent's membership changes
//   write {kind: 'leave'|'join'|'drain'|'undrain', agent} → {rev (null: nothing written), t0}
//   collect {rev, timeoutMs} → {at: per agent, when it held revision rev} (recording stops)
//   digests {agent?} → {digests: distinct digests held here, digestMs: one digest computed (median)}
//   steady {seconds, metricsUrls} → {writes (the agents' puts and deletes), cpuMs (this process),
//        etcd: the members' counter deltas (writes applied, gRPC bytes in/out, peer bytes)}
//   close → {}   quit → exits
// The ring digest is a SHA-256 of the member list (src/cluster/etcd/digest.ts), not a Maglev table
// build: the agents here build no tables. It is timed once per change and added to each agent's
// delivery time; every agent computes it on its own CPU in a real fleet.

import { readFileSync } from 'node:fs';
import { type Commands, serveCommands } from './child-commands.js';

/** The part of src/cluster/etcd/fleet.ts this program uses. */
interface FleetAgentLike {
  node: {
    digest(service: string): string;
    readonly revision: number;
    readonly connected: boolean;
    counters(): { watchRestarts: number };
  };
  set(change: Record<string, unknown>): void;
  deregister(): void;
}
interface FleetLike {
  agents: FleetAgentLike[];
  watchAll(): Promise<void>;
  arm(): { until(rev: number, timeoutMs?: number): Promise<number[]>; off(): void };
  counters(): { writes: number; watchRestarts: number; watchStalls?: number; leasesLost: number };
  close(revoke?: boolean): Promise<void>;
}
interface FleetModule {
  Fleet: {
    start(o: Record<string, unknown>): Promise<FleetLike>;
    write(writer: FleetAgentLike, change: () => void): Promise<number | null>;
  };
}

/** The fleet's module: this checkout's, or another checkout's (ANYCASTD_FLEET_MODULE, a path). */
const FLEET_MODULE =
  process.env.ANYCASTD_FLEET_MODULE ?? new URL('../src/cluster/etcd/fleet.js', import.meta.url).href;
const SERVICE = 'web';
const MEASURE_TIMEOUT_MS = 30_000;
/** Digest computations timed per change (the median is reported). */
const DIGEST_SAMPLES = 5;
/** Lagging agents named in a failed change's error. */
const LAGGING_SHOWN = 20;
/** Counters read from each member's /metrics. */
const ETCD_COUNTERS = [
  'etcd_mvcc_put_total',
  'etcd_mvcc_delete_total',
  'etcd_server_proposals_committed_total',
  'etcd_network_client_grpc_received_bytes_total',
  'etcd_network_client_grpc_sent_bytes_total',
  'etcd_network_peer_sent_bytes_total',
] as const;
type EtcdCounters = Record<(typeof ETCD_COUNTERS)[number], number>;

let fleet: FleetLike | undefined;
let fleetMod: FleetModule | undefined;
let recording: { until(rev: number, timeoutMs?: number): Promise<number[]>; off(): void } | undefined;
/** This process's monotonic clock (performance.now) → the host's CLOCK_MONOTONIC (ms). */
const TO_MONOTONIC = Number(process.hrtime.bigint()) / 1e6 - performance.now();
const monotonic = (ms: number): number => ms + TO_MONOTONIC;
/** The first agent's number here (agents are numbered across the fleet). */
let first = 0;

async function start(o: {
  size: number;
  first?: number;
  prefix: string;
  endpoints: string[];
  caFile: string;
  certFile: string;
  keyFile: string;
  leaseTtlMs: number;
  agentsPerClient: number;
}): Promise<unknown> {
  fleetMod ??= (await import(FLEET_MODULE)) as FleetModule;
  const t0 = performance.now();
  first = o.first ?? 0;
  fleet = await fleetMod.Fleet.start({
    endpoints: o.endpoints,
    tls: { ca: readFileSync(o.caFile), cert: readFileSync(o.certFile), key: readFileSync(o.keyFile) },
    prefix: o.prefix,
    size: o.size,
    first,
    watch: false,
    service: SERVICE,
    leaseTtlMs: o.leaseTtlMs,
    agentsPerClient: o.agentsPerClient,
  });
  return { ms: performance.now() - t0 };
}

async function watch(): Promise<unknown> {
  if (!fleet) throw new Error('no fleet');
  const t0 = performance.now();
  await fleet.watchAll();
  return { ms: performance.now() - t0 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function agentOf(n: number): FleetAgentLike {
  const a = fleet?.agents[n - first];
  if (!a)
    throw new RangeError(`no agent ${n} here (agents ${first}…${first + (fleet?.agents.length ?? 0) - 1})`);
  return a;
}

async function arm(): Promise<unknown> {
  if (!fleet) throw new Error('no fleet');
  recording?.off();
  recording = fleet.arm();
  return {};
}

async function write(o: { kind: 'leave' | 'join' | 'drain' | 'undrain'; agent: number }): Promise<unknown> {
  if (!fleet || !fleetMod) throw new Error('no fleet');
  const writer = agentOf(o.agent);
  const act = {
    leave: () => writer.deregister(),
    join: () => writer.set({}),
    drain: () => writer.set({ state: 'drained', new: false }),
    undrain: () => writer.set({ state: 'up', new: true }),
  }[o.kind];
  const t0 = monotonic(performance.now());
  const rev = await fleetMod.Fleet.write(writer, act);
  return { rev, t0 };
}

async function collect(o: { rev: number; timeoutMs?: number }): Promise<unknown> {
  if (!fleet || !recording) throw new Error('not armed');
  const rec = recording;
  try {
    const at = await rec.until(o.rev, o.timeoutMs ?? MEASURE_TIMEOUT_MS);
    return { at: at.map(monotonic) };
  } catch (err) {
    // Which agents lag, and where they are: the bench's report names them.
    const lagging = fleet.agents
      .map((a, i) => ({
        agent: first + i,
        revision: a.node.revision,
        connected: a.node.connected,
        restarts: a.node.counters().watchRestarts,
      }))
      .filter((a) => a.revision < o.rev);
    throw new Error(`${(err as Error).message}; lagging ${JSON.stringify(lagging.slice(0, LAGGING_SHOWN))}`);
  } finally {
    rec.off();
    if (recording === rec) recording = undefined;
  }
}

async function digests(): Promise<unknown> {
  if (!fleet) throw new Error('no fleet');
  const digestMs: number[] = [];
  const one = fleet.agents[0]!;
  for (let i = 0; i < DIGEST_SAMPLES; i++) {
    const t = performance.now();
    one.node.digest(SERVICE);
    digestMs.push(performance.now() - t);
  }
  const held = new Set(fleet.agents.map((a) => a.node.digest(SERVICE)));
  return { digests: [...held], digestMs: median(digestMs) };
}
/** Sum of each counter over the members' Prometheus text. */
async function etcdCounters(urls: readonly string[]): Promise<EtcdCounters> {
  const sum = Object.fromEntries(ETCD_COUNTERS.map((c) => [c, 0])) as EtcdCounters;
  for (const url of urls) {
    const text = await (await fetch(url)).text();
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) continue;
      const name = line.split(/[{ ]/)[0] as keyof EtcdCounters;
      if (!(name in sum)) continue;
      sum[name] += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

async function steady(o: { seconds: number; metricsUrls: string[] }): Promise<unknown> {
  if (!fleet) throw new Error('no fleet');
  const before = { c: fleet.counters(), cpu: process.cpuUsage(), etcd: await etcdCounters(o.metricsUrls) };
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  const after = {
    c: fleet.counters(),
    cpu: process.cpuUsage(before.cpu),
    etcd: await etcdCounters(o.metricsUrls),
  };
  const etcd = Object.fromEntries(ETCD_COUNTERS.map((c) => [c, after.etcd[c] - before.etcd[c]]));
  return {
    seconds: (performance.now() - t0) / 1000,
    writes: after.c.writes - before.c.writes,
    watchRestarts: after.c.watchRestarts - before.c.watchRestarts,
    watchStalls: (after.c.watchStalls ?? 0) - (before.c.watchStalls ?? 0),
    leasesLost: after.c.leasesLost - before.c.leasesLost,
    cpuMs: (after.cpu.user + after.cpu.system) / 1000,
    rssMb: process.memoryUsage().rss / 2 ** 20,
    etcd,
  };
}

async function close(): Promise<unknown> {
  recording?.off();
  recording = undefined;
  await fleet?.close(true);
  fleet = undefined;
  return {};
}

const commands: Commands = { start, watch, arm, write, collect, digests, steady, close };

await serveCommands(commands);
await fleet?.close(true);
process.exit(0);
