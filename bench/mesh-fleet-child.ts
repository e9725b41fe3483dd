// The scale bench's mesh side (bench/etcd-fleet.bench.ts starts several in one namespace of its own):
// real src/cluster Clusters — today's backend, one per simulated host — hosts `from`..`to` of a mesh of
// `hosts` in this process (two sockets per long poll: 100 hosts in one process would pass a 20,000
// open-file limit), each serving on its own loopback address 127.0.1.<i> and long-polling every other
// host, one service with an instance on every host, one shared key (given as hex). Commands on stdin,
// one JSON line out each:
//   start {hosts, from, to, key} → {}            settled → {} once each of ours has every other's report
//   steady {seconds} → {cpuMs, seconds, replies}  (this process's CPU, the replies our pollers received)
//   publish {host, state} → {}                    seen {host, state} → {} once each of ours has it
//   close → {}   quit
import { Cluster } from '../src/cluster/cluster.js';
import type { InstanceReport } from '../src/cluster/report.js';
import { ClusterKeys } from '../src/config/cluster-keys.js';
import { parseConfig } from '../src/config/load.js';
import { type Commands, serveCommands } from './child-commands.js';

const SERVICE = 'web';
const SETTLE_TIMEOUT_MS = 60_000;
const POLL_MS = 5;
const UP: InstanceReport = { state: 'up', new: true, established: true };
const DRAINED: InstanceReport = { state: 'drained', new: false, established: true };
const MS_PER_S = 1000;

const address = (i: number): string => `127.0.1.${i}`;

function configText(i: number, hosts: number): string {
  const instances = Array.from(
    { length: hosts },
    (_, j) => `      - { id: h${j + 1}, host: { ipv4: ${address(j + 1)} } }`,
  ).join('\n');
  return `node:
  id: h${i}
  host: { ipv4: ${address(i)} }
  asn: ${65000 + i}
  uplinks: [lo]
services:
  - name: ${SERVICE}
    vips: [203.0.113.10]
    ports: [{ protocol: tcp, port: 80 }]
    instances:
${instances}
    checks: [{ type: tcp, port: 80 }]
`;
}

async function until(what: string, ok: () => boolean, timeoutMs = SETTLE_TIMEOUT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`${what}: not in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

let clusters: { id: number; cl: Cluster }[] = [];
let mesh = 0;

async function start(o: { hosts: number; from: number; to: number; key: string }): Promise<unknown> {
  const keys = new ClusterKeys([Buffer.from(o.key, 'hex')]);
  mesh = o.hosts;
  for (let i = o.from; i <= o.to; i++) {
    const c = parseConfig(configText(i, o.hosts), `/bench/mesh/h${i}.yaml`);
    c.cluster.keys = keys;
    const cl = new Cluster(c, { log: () => {} });
    clusters.push({ id: i, cl });
    await cl.start();
    cl.publish(SERVICE, `h${i}`, UP);
  }
  return {};
}

/** Reports each of ours still lacks. */
function missing(): number {
  let n = 0;
  for (const { id, cl } of clusters)
    for (let j = 1; j <= mesh; j++) if (j !== id && cl.reported(SERVICE, `h${j}`) === undefined) n++;
  return n;
}

async function settled(): Promise<unknown> {
  try {
    await until('every host has every report', () => missing() === 0);
  } catch (err) {
    const unreachable = clusters.reduce((s, { cl }) => s + cl.peers().filter((p) => !p.reachable).length, 0);
    throw new Error(
      `${(err as Error).message}: ${missing()} reports missing, ${unreachable} peers unreachable`,
    );
  }
  return {};
}

const replies = (): number =>
  clusters.reduce((s, { cl }) => s + cl.peers().reduce((t, p) => t + p.replies, 0), 0);

async function steady(o: { seconds: number }): Promise<unknown> {
  const r0 = replies();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, o.seconds * MS_PER_S));
  const cpu = process.cpuUsage(cpu0);
  return {
    cpuMs: (cpu.user + cpu.system) / MS_PER_S,
    seconds: (performance.now() - t0) / MS_PER_S,
    replies: replies() - r0,
  };
}

async function publish(o: { host: number; state: 'up' | 'drained' }): Promise<unknown> {
  const c = clusters.find((x) => x.id === o.host);
  if (!c) throw new RangeError(`h${o.host} is not in this process`);
  c.cl.publish(SERVICE, `h${o.host}`, o.state === 'up' ? UP : DRAINED);
  return {};
}

async function seen(o: { host: number; state: string }): Promise<unknown> {
  await until(`h${o.host} ${o.state} everywhere`, () =>
    clusters.every(({ id, cl }) => id === o.host || cl.reported(SERVICE, `h${o.host}`)?.state === o.state),
  );
  return {};
}

async function close(): Promise<unknown> {
  await Promise.all(clusters.map(({ cl }) => cl.close()));
  clusters = [];
  return {};
}

const commands: Commands = {
  start,
  settled,
  steady,
  publish,
  seen,
  close,
};

await serveCommands(commands);
await close();
process.exit(0);
