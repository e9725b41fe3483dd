// The agent's HealthPort over the real health layer: one src/health ServiceHealth per service (every instance checked
// at its host address, the local listener watched for socket-gone, the drain file watched).

import type { CheckView, HealthFactory, HealthPort } from '../agent/health-port.js';
import type { Clock } from '../clock.js';
import type { ServiceConfig } from '../config/types.js';
import type { InstanceState, InstanceTransition } from '../health/instance-health.js';
import type { ListenerWatcher } from '../health/listener-watcher.js';
import type { makeProbe } from '../health/probe.js';
import { ServiceHealth } from '../health/service-health.js';

class ServiceHealthPort implements HealthPort {
  readonly #health: ServiceHealth;

  constructor(health: ServiceHealth) {
    this.#health = health;
  }

  start(): void {
    this.#health.start();
  }

  stop(): void {
    this.#health.stop();
  }

  states(): ReadonlyMap<string, InstanceState> {
    return new Map([...this.#health.instances].map(([id, inst]) => [id, inst.state]));
  }

  checks(instance: string): CheckView[] {
    return this.#health.instances.get(instance)?.checks() ?? [];
  }

  setDrainFlag(drained: boolean): void {
    this.#health.drain.setFlag(drained);
  }
}

export interface RealHealthOptions {
  /** Listener watcher for socket-gone (shared by every service); none: checks only. */
  watcher?: ListenerWatcher;
  drainPollMs?: number;
  /** The probe factory of each service (default the plain probes; ops: timed for the duration histogram). */
  probeFor?: (service: ServiceConfig) => typeof makeProbe;
  /** The clock of every check's timers (default the system clock). */
  clock?: Clock;
}

export function realHealth(opts: RealHealthOptions = {}): HealthFactory {
  return (service: ServiceConfig, onTransition: (t: InstanceTransition) => void) =>
    new ServiceHealthPort(
      new ServiceHealth({
        service,
        onTransition,
        ...(opts.watcher ? { watcher: opts.watcher } : {}),
        ...(opts.drainPollMs === undefined ? {} : { drainPollMs: opts.drainPollMs }),
        ...(opts.probeFor ? { probeFor: opts.probeFor(service) } : {}),
        ...(opts.clock ? { clock: opts.clock } : {}),
      }),
    );
}
