// The agent faults the health checks meet (agent-fault.ts): each is logged as `agent-resource-fault` (warn;
// the agent's sink limits repeated lines) with the service, instance and check it kept from being judged,
// counted by kind (anycastd_agent_resource_faults_total reads `counts`), and an fd shortage hands the fd
// reserve back to the process (fd-reserve.ts). The instance's state is not touched: check-state.ts takes
// such a result as neither a failure nor a success.

import type { CheckConfig, ServiceConfig } from '../config/types.js';
import { FD_SHORTAGE, RESOURCE_KINDS } from './agent-fault.js';
import { FdReserve, type FdReserveOptions, fdLimits } from './fd-reserve.js';
import { makeProbe } from './probe.js';
import { probeTarget } from './probe-target.js';
import type { AgentFault, Probe, ResourceKind } from './types.js';

/** Where the faults are written (the agent's log). */
export type FaultLog = (level: 'info' | 'warn', event: string, fields: Record<string, unknown>) => void;

export class ResourceFaults {
  readonly #counts = new Map<ResourceKind, number>(RESOURCE_KINDS.map((k) => [k, 0]));
  readonly #log: FaultLog;
  readonly #reserve: FdReserve | null;

  constructor(log: FaultLog, reserve: FdReserve | null = null) {
    this.#log = log;
    this.#reserve = reserve;
  }

  /** Faults since start, by kind (every kind present, monotonic). */
  get counts(): ReadonlyMap<ResourceKind, number> {
    return this.#counts;
  }

  /** One fault met by the probe described in `fields` (service, instance, check, detail). */
  report(fault: AgentFault, fields: Record<string, unknown>): void {
    this.#counts.set(fault.kind, (this.#counts.get(fault.kind) ?? 0) + 1);
    const released = FD_SHORTAGE.has(fault.kind) ? (this.#reserve?.release() ?? 0) : 0;
    this.#log('warn', 'agent-resource-fault', {
      reason: 'probe',
      kind: fault.kind,
      ...fields,
      reserve_released: released,
    });
  }

  /** A probe factory like `inner` whose probes report their agent faults here. */
  probeFor(service: ServiceConfig, inner: typeof makeProbe = makeProbe): typeof makeProbe {
    return (check: CheckConfig, address: string): Probe => {
      const probe = inner(check, address);
      const target = probeTarget(service, check, address);
      return async (signal) => {
        const result = await probe(signal);
        if (result.fault) this.report(result.fault, { ...target, detail: result.detail });
        return result;
      };
    };
  }

  close(): void {
    this.#reserve?.close();
  }
}

/** The agent's: the fd reserve taken and the fd limits logged (`fd-limit`). */
export function startResourceFaults(log: FaultLog, opts: FdReserveOptions = {}): ResourceFaults {
  const reserve = new FdReserve(opts);
  const held = reserve.take();
  const limits = fdLimits();
  log(limits && limits.soft < limits.hard ? 'warn' : 'info', 'fd-limit', {
    reason: 'start',
    soft: limits?.soft ?? null,
    hard: limits?.hard ?? null,
    reserve: held,
  });
  return new ResourceFaults(log, reserve);
}
