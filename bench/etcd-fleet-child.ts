// The scale bench's fleet process (bench/etcd-fleet.bench.ts starts it in a namespace on the lab's
// management network, lab/mgmt-net.ts): N agents' real registration and watch code
// (src/cluster/etcd/fleet.ts — an EtcdNode each: a lease, its instance key, a watch, the membership)
// in this one process, against the lab's 3-member etcd over mutual TLS. Driven over stdin, one JSON
// line out per command (lab/line-child.ts):
//   start {size, prefix, endpoints, caFile, certFile, keyFile, leaseTtlMs, agentsPerClient}
//        → {ms}: every agent watching and registered
//   change {kind: 'leave'|'join'|'drain'|'undrain', agent, timeoutMs?}
//        → {deliveryMs: per agent, change → its membership at the write's revision; digestMs: one
//          agent computing the service's ring digest; agree: every agent's digest equal afterwards}
//   steady {seconds, metricsUrls} → {writes (the agents' puts and deletes), cpuMs (this process),
//        etcd: the members' counter deltas (writes applied, gRPC bytes in/out, peer bytes)}
//   close → {}   quit → exits
// The digest is computed once per change, not per agent: every agent computes the same function of
// the same membership, and 1,000 copies of it on one core would time this process, not the fleet.

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
  measure(writer: FleetAgentLike, change: () => void, timeoutMs?: number): Promise<number[]>;
  counters(): { writes: number; watchRestarts: number; watchStalls?: number; leasesLost: number };
  close(revoke?: boolean): Promise<void>;
}
interface FleetModule {
  Fleet: { start(o: Record<string, unknown>): Promise<FleetLike> };
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
/** Agents that left (deregistered): 'join' brings one back. */
const left = new Set<number>();

async function start(o: {
  size: number;
  prefix: string;
  endpoints: string[];
  caFile: string;
  certFile: string;
  keyFile: string;
  leaseTtlMs: number;
  agentsPerClient: number;
}): Promise<unknown> {
  const mod = (await import(FLEET_MODULE)) as FleetModule;
  const t0 = performance.now();
  fleet = await mod.Fleet.start({
    endpoints: o.endpoints,
    tls: { ca: readFileSync(o.caFile), cert: readFileSync(o.certFile), key: readFileSync(o.keyFile) },
    prefix: o.prefix,
    size: o.size,
    service: SERVICE,
    leaseTtlMs: o.leaseTtlMs,
    agentsPerClient: o.agentsPerClient,
  });
  left.clear();
  return { ms: performance.now() - t0 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function change(o: {
  kind: 'leave' | 'join' | 'drain' | 'undrain';
  agent: number;
  timeoutMs?: number;
}): Promise<unknown> {
  if (!fleet) throw new Error('no fleet');
  const writer = fleet.agents[o.agent];
  if (!writer) throw new RangeError(`no agent ${o.agent}`);
  const act = {
    leave: () => {
      writer.deregister();
      left.add(o.agent);
    },
    join: () => {
      left.delete(o.agent);
      writer.set({});
    },
    drain: () => writer.set({ state: 'drained', new: false }),
    undrain: () => writer.set({ state: 'up', new: true }),
  }[o.kind];
  let deliveryMs: number[];
  try {
    deliveryMs = await fleet.measure(writer, act, o.timeoutMs ?? MEASURE_TIMEOUT_MS);
  } catch (err) {
    // Which agents lag, and where they are: the bench's report names them.
    const target = writer.node.revision;
    const lagging = fleet.agents
      .map((a, i) => ({
        i,
        revision: a.node.revision,
        connected: a.node.connected,
        restarts: a.node.counters().watchRestarts,
      }))
      .filter((a) => a.revision < target);
    throw new Error(
      `${(err as Error).message}; writer at ${target}; lagging ${JSON.stringify(lagging.slice(0, LAGGING_SHOWN))}`,
    );
  }
  const digestMs: number[] = [];
  let digest = '';
  for (let i = 0; i < DIGEST_SAMPLES; i++) {
    const t = performance.now();
    digest = writer.node.digest(SERVICE);
    digestMs.push(performance.now() - t);
  }
  const disagree = fleet.agents.filter((a) => a.node.digest(SERVICE) !== digest).length;
  return {
    deliveryMs,
    digestMs: median(digestMs),
    agree: disagree === 0,
    disagree,
    revision: writer.node.revision,
  };
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
  await fleet?.close(true);
  fleet = undefined;
  return {};
}

const commands: Commands = { start, change, steady, close };

await serveCommands(commands);
await fleet?.close(true);
process.exit(0);
