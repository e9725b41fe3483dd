// The snapshot the metrics and API layers read from the agent (Agent.status()): per service its route,
// VIPs on lo, each instance's health and checks and ring membership, the ring shares, and the health
// transitions counted by reason.

import type { InstanceReport } from '../cluster/report.js';
import type { InstanceState } from '../health/instance-health.js';
import type { CheckView } from './health-port.js';
import type { RingShares } from './steering-port.js';

export type RouteState = 'withdrawn' | 'advertised' | 'worsened';

export interface InstanceStatus {
  id: string;
  local: boolean;
  state: InstanceState;
  inNew: boolean;
  inEstablished: boolean;
  /** What the instance's own agent says of it (remote instances; null: nothing heard). */
  reported: InstanceReport | null;
  checks: CheckView[];
}

export interface ServiceStatus {
  name: string;
  settled: boolean;
  route: RouteState;
  vipAnnounced: boolean;
  vipsOnLo: string[];
  drained: boolean;
  instances: InstanceStatus[];
  rings: RingShares;
  transitions: Record<string, number>;
}

export interface AgentStatus {
  node: string;
  started: boolean;
  endOfRibReleased: boolean;
  stopping: boolean;
  hostAddresses: string[];
  services: ServiceStatus[];
  /** Health transitions of every service, by reason. */
  transitionsByReason: Record<string, number>;
}
