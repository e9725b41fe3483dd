// What one service tells about itself: the snapshot the metrics and API layers read (its route, VIPs on
// lo, each instance's health, checks, ring membership and report, the ring shares, its transitions by
// reason), and the report of its local instance that the other agents read (src/cluster/).

import type { ClusterPort } from '../cluster/cluster.js';
import type { InstanceReport } from '../cluster/report.js';
import type { ServiceConfig } from '../config/types.js';
import type { HealthPort } from './health-port.js';
import type { ServiceRings } from './service-rings.js';
import type { ServiceRoute } from './service-route.js';
import type { ServiceStatus } from './status.js';
import type { SteeringPort } from './steering-port.js';

/** The parts of a running service its status is read from. */
export interface ServiceView {
  config: ServiceConfig;
  settled: boolean;
  health: HealthPort;
  route: ServiceRoute;
  rings: ServiceRings;
  steering: SteeringPort;
  cluster: ClusterPort | undefined;
  transitions: ReadonlyMap<string, number>;
}

export function serviceStatus(v: ServiceView): ServiceStatus {
  const { config, health, rings } = v;
  const states = health.states();
  return {
    name: config.name,
    settled: v.settled,
    route: v.route.state,
    vipAnnounced: v.route.state !== 'withdrawn',
    vipsOnLo: v.route.vipsOnLo,
    drained: states.get(config.localInstanceId) === 'drained',
    instances: config.instances.map((i) => {
      const reported = v.cluster?.reported(config.name, i.id) ?? null;
      return {
        id: i.id,
        local: i.id === config.localInstanceId,
        // an instance this host does not check (etcd backend: the others' own agents judge them)
        // stands as its own agent registered it
        state: states.get(i.id) ?? reported?.state ?? 'unknown',
        inNew: rings.members('new').includes(i.id),
        inEstablished: rings.members('established').includes(i.id),
        reported,
        checks: health.checks(i.id),
      };
    }),
    rings: v.steering.shares(config.name),
    transitions: Object.fromEntries(v.transitions),
  };
}

/**
 * What this host says of its local instance: its health and whether the rings here hold it; null while
 * it has nothing to say (not settled: the others keep their own view; not judged yet).
 */
export function localReport(v: ServiceView): InstanceReport | null {
  if (!v.settled) return null;
  const state = v.health.states().get(v.config.localInstanceId);
  if (state !== 'up' && state !== 'down' && state !== 'drained') return null;
  return { state, new: v.rings.local.new, established: v.rings.local.established };
}
