// The cluster part of a real agent in a process of its own, for tests that attack it from outside (run it
// inside a network namespace with `ip netns exec NS node --import tsx agent-proc.ts CONFIG`). It loads the
// config file as the agent does (the key file included), starts a Cluster and serves, and takes commands
// on stdin, one JSON line each, answered on stdout by id:
//   {id, op: 'publish', service, instance, report}   {id, op: 'reported', service, instance}
//   {id, op: 'status'} → counters, RSS, open fds, connections, poller requests
//   {id, op: 'reload'} → the config file loaded again and applied (a bad one: the error, the running one kept)
//   {id, op: 'metrics'} → the Prometheus text of the cluster metrics
// Every log line of the Cluster goes to stderr as one JSON line (the test counts them). A first line
// {ready: true} on stdout says it started.

import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Cluster } from '../../src/cluster/cluster.js';
import type { InstanceReport } from '../../src/cluster/report.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { AnycastdMetrics } from '../../src/metrics/metrics.js';

const file = process.argv[2];
if (!file) throw new Error('usage: agent-proc.ts CONFIG');

let config: Config = await loadConfig(file);
const cluster = new Cluster(config, {
  log: (level, event, fields) => process.stderr.write(`${JSON.stringify({ level, event, ...fields })}\n`),
  ...(process.env.ACD_TEST_WAIT_MS ? { waitMs: Number(process.env.ACD_TEST_WAIT_MS) } : {}),
});
await cluster.start();
const metrics = new AnycastdMetrics(
  { cluster: () => cluster.counters() },
  { version: 'test', node: config.node.id },
);

type Command = {
  id: number;
  op: string;
  service?: string;
  instance?: string;
  report?: InstanceReport | null;
};

async function run(c: Command): Promise<unknown> {
  switch (c.op) {
    case 'publish':
      cluster.publish(c.service!, c.instance!, c.report ?? null);
      return null;
    case 'reported':
      return cluster.reported(c.service!, c.instance!) ?? null;
    case 'status':
      return {
        counters: cluster.counters(),
        rss: process.memoryUsage().rss,
        fds: readdirSync('/proc/self/fd').length,
        port: cluster.port,
        peers: cluster.peers(),
        requests: cluster.peers().map((p) => cluster.poller(p.address)?.requests ?? 0),
      };
    case 'reload':
      try {
        const next = await loadConfig(file!);
        await cluster.apply(next);
        config = next;
        return { ok: true, fingerprint: config.cluster.keys?.fingerprint ?? null };
      } catch (err) {
        return { ok: false, error: err instanceof Error ? err.message : String(err) };
      }
    case 'metrics':
      return await metrics.text();
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const c = JSON.parse(line) as Command;
  void run(c).then(
    (result) => process.stdout.write(`${JSON.stringify({ id: c.id, result })}\n`),
    (err: unknown) => process.stdout.write(`${JSON.stringify({ id: c.id, error: String(err) })}\n`),
  );
});
lines.on('close', () => {
  void cluster.close().then(() => process.exit(0));
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
