// One host's agent on the etcd backend for tests: the real Agent and EtcdCluster against a real etcd,
// with the recording fakes of test/agent/fakes.ts for BGP, lo, the data plane and health. Its config file
// `/test/<node>.yaml` is read from `files` on a reload; `extra` lines go under `cluster.etcd`.

import { Agent } from '../../../src/agent/agent.js';
import { silentSink } from '../../../src/agent/log.js';
import { agentHandler } from '../../../src/api/agent-handler.js';
import { makeClient } from '../../../src/cluster/etcd/client.js';
import { EtcdCluster } from '../../../src/cluster/etcd/etcd-cluster.js';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigStore } from '../../../src/config/reload.js';
import { FakeAnnouncer, FakeHost, FakeSteering, fakeHealthFactory, Recorder } from '../../agent/fakes.js';

export interface HostOptions {
  prefix?: string;
  files?: Map<string, string>;
  /** The check interval (a reload that changes it rebuilds the checks). */
  interval?: string;
  graceTime?: string;
  membersCache?: string;
  /** Start the agent without waiting for the store's first read (default: wait). */
  storeAway?: boolean;
}

export const configText = (node: string, octet: number, endpoint: string, o: HostOptions = {}) =>
  `node:
  id: ${node}
  host: { ipv4: 192.0.2.${octet} }
  asn: 4200000011
  uplinks: [eth0]
bgp:
  peers: [{ name: tor1, address: 198.51.100.0, remote_asn: 65001 }]
services:
  - name: web
    vips: [203.0.113.10]
    ports: [{ protocol: tcp, port: 80 }]
    checks: [{ type: tcp, port: 80, interval: ${o.interval ?? '1s'} }]
    drain_time: 1500ms
    grace_time: ${o.graceTime ?? '10s'}
    drain_file: /nonexistent/etcdc-agents/web
cluster:
  backend: etcd
  etcd:
    endpoints: ["${endpoint}"]
    prefix: ${o.prefix ?? '/agents/f1'}
    lease_ttl: 5s
${o.membersCache ? `    members_cache: ${o.membersCache}\n` : ''}`;

export type TestHost = Awaited<ReturnType<typeof startHost>>;

/** Starts the host's agent (its instance reported up); `stop` ends agent, store and client. */
export async function startHost(node: string, octet: number, endpoint: string, o: HostOptions = {}) {
  const files = o.files ?? new Map<string, string>();
  const file = `/test/${node}.yaml`;
  if (!files.has(file)) files.set(file, configText(node, octet, endpoint, o));
  const load = async (f: string) => parseConfig(files.get(f) ?? '', f);
  const store = new ConfigStore(await load(file), load);
  const rec = new Recorder();
  const steering = new FakeSteering(rec);
  const health = fakeHealthFactory();
  const client = makeClient({ endpoints: [endpoint] });
  const cluster = new EtcdCluster(store.current, { log: () => undefined, client });
  const started = cluster.start();
  if (!o.storeAway) await started;
  const agent = new Agent(store, {
    announcer: new FakeAnnouncer(rec),
    host: new FakeHost(rec),
    steering,
    health: health.factory,
    cluster,
    sink: silentSink,
    flushTimeoutMs: 500,
  });
  agent.start();
  health.made.get('web')!.set(node, 'up', 'rise-reached');
  const stop = async () => {
    await agent.stop(100);
    await cluster.close();
    client.close();
  };
  const ring = (kind: 'new' | 'established') => steering.rings.get(`web ${kind}`) ?? [];
  const api = agentHandler(
    { agent, store: cluster, version: 'test', startedAt: 0 },
    { lastChange: new Map(), configLoadedAt: () => 0 },
  );
  return { node, file, files, agent, cluster, steering, ring, health, api, stop };
}
