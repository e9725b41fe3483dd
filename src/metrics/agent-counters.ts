// Counters the agent keeps about itself, read at scrape time from objects made before the metrics (the
// log limiter wraps the sink before anything runs): anycastd_log_records_suppressed_total{event}, the
// log records the rate limit held back (src/agent/log-limit.ts), and
// anycastd_agent_resource_faults_total{kind}, the checks that could not run because this process lacked
// a resource (src/health/agent-fault.ts). Registered on an AnycastdMetrics' registry by the composition
// root (src/daemon/run.ts).
import { Counter, type Registry } from 'prom-client';
import { RESOURCE_KINDS } from '../health/agent-fault.js';
import { PREFIX } from './factory.js';
import { MirroredCounter } from './series.js';

export interface AgentCounters {
  /** Log records held back, by event (monotonic). */
  logSuppressed(): ReadonlyMap<string, number>;
  /** Agent faults, by resource kind (monotonic). */
  resourceFaults(): ReadonlyMap<string, number>;
}

export function defineAgentCounters(registry: Registry, counters: AgentCounters): void {
  mirror(
    registry,
    'log_records_suppressed_total',
    'Log records held back by the rate limit (one summary line with the count is written per key), by event.',
    'event',
    counters.logSuppressed,
  );
  const faults = mirror(
    registry,
    'agent_resource_faults_total',
    'Checks that could not run because this process lacked a resource (emfile, enfile, enobufs, enomem, ' +
      'eagain); the instance keeps its state.',
    'kind',
    counters.resourceFaults,
  );
  faults.sync(RESOURCE_KINDS.map((kind) => ({ kind })));
}

function mirror<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  label: L,
  read: () => ReadonlyMap<string, number>,
): MirroredCounter<L> {
  let m: MirroredCounter<L> | undefined;
  const c: Counter<L> = new Counter({
    name: PREFIX + name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      for (const [value, n] of read()) m?.set({ [label]: value } as Record<L, string>, n);
    },
  });
  m = new MirroredCounter(c);
  return m;
}
