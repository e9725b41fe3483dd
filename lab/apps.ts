// Starting the lab's own Node programs inside namespaces: the service (lab/service.ts) on a host,
// and the probe (lab/probe.ts) and the load generator (lab/load.ts) on the client. They run as
// TypeScript through tsx, loaded by an absolute URL so they work whatever the current directory is.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VIP4, VIP6 } from './addressing.js';
import { runInAsync, waitFor } from './exec.js';
import { CONNECT_TIMEOUT_MS, type ProbeProtocol, type ProbeResult } from './probe.js';
import type { LabProcess, ProcessRegistry } from './processes.js';
import { READY_LINE } from './service.js';

const TSX_LOADER = import.meta.resolve('tsx');
const SERVICE_SCRIPT = fileURLToPath(new URL('./service.ts', import.meta.url));
const PROBE_SCRIPT = fileURLToPath(new URL('./probe.ts', import.meta.url));
const LOAD_SCRIPT = fileURLToPath(new URL('./load.ts', import.meta.url));
const SERVICE_READY_TIMEOUT_MS = 15_000;
/** The probe's own start (node and tsx on a loaded 2-core box), before its first connection. */
const PROBE_START_MS = 15_000;
const PROBE_CONCURRENCY = 20;
/** Exchanges the probe may wait out per connection slot (an HTTP request: connect, then the answer). */
const PROBE_WAITS_PER_EXCHANGE = 2;

/** argv of `node` running one of the lab's TypeScript programs through tsx. */
export function nodeArgs(script: string, args: readonly string[]): string[] {
  return ['--import', TSX_LOADER, script, ...args];
}

/** Start the service in `ns` answering `id` on the VIP (both families); resolves once it listens. */
export async function startServiceIn(
  procs: ProcessRegistry,
  ns: string,
  dir: string,
  id: string,
  bind: readonly string[] = [VIP4, VIP6],
): Promise<LabProcess> {
  const log = join(dir, `service-${id}.out`);
  const args = nodeArgs(SERVICE_SCRIPT, ['--id', id, ...bind.flatMap((b) => ['--bind', b])]);
  const proc = procs.start(`service ${id}`, ns, process.execPath, args, log);
  await waitFor(
    `service ${id} ready`,
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`exited: ${readFileSync(log, 'utf8').trim()}`);
      return readFileSync(log, 'utf8').split('\n').includes(READY_LINE) ? true : undefined;
    },
    SERVICE_READY_TIMEOUT_MS,
  );
  return proc;
}

export interface ProbeOptions {
  target: string;
  protocol?: ProbeProtocol;
  count: number;
  concurrency?: number;
}

/** Run the probe in `ns` (the client) and return its counts per host id. */
export async function runProbeIn(ns: string, opts: ProbeOptions): Promise<ProbeResult> {
  const args = nodeArgs(PROBE_SCRIPT, [
    '--target',
    opts.target,
    '--protocol',
    opts.protocol ?? 'tcp',
    '--count',
    String(opts.count),
    '--concurrency',
    String(opts.concurrency ?? PROBE_CONCURRENCY),
  ]);
  // Every exchange ends by its own timeout, so the probe's run is bounded: rounds of its concurrency,
  // each at most the exchange timeouts. Failures are counted in its result, not thrown.
  const rounds = Math.ceil(opts.count / (opts.concurrency ?? PROBE_CONCURRENCY));
  const bound = PROBE_START_MS + rounds * PROBE_WAITS_PER_EXCHANGE * CONNECT_TIMEOUT_MS;
  const out = await runInAsync(ns, process.execPath, args, bound);
  return JSON.parse(out) as ProbeResult;
}

export interface LoadOptions {
  target: string;
  concurrency: number;
  /** Each worker's pause between requests (0: as fast as it goes). */
  pauseMs?: number;
}

/** Start the load generator (lab/load.ts) in `ns`; stop it with SIGTERM, its counts are in its log. */
export function startLoadIn(procs: ProcessRegistry, ns: string, dir: string, opts: LoadOptions): LabProcess {
  const args = nodeArgs(LOAD_SCRIPT, [
    '--target',
    opts.target,
    '--concurrency',
    String(opts.concurrency),
    '--pause-ms',
    String(opts.pauseMs ?? 0),
  ]);
  return procs.start('load', ns, process.execPath, args, join(dir, `load-${Date.now()}.out`));
}
