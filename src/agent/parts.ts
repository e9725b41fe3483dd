// The ports of the agent besides the RouteAnnouncer (ports.ts): the data plane (rings and VIP table),
// the health of each service, and the speaker's optional peer reload. The agent depends on these
// interfaces only, so its ordering can be tested with recording fakes and, end to end, with the real
// parts (steering.ts over src/steer's Dataplane, health.ts over src/health's ServiceHealth).

import type { PeerStatus, ReceivedRoute } from '../bgp/speaker-status.js';
import type { PeerConfig, ServiceConfig } from '../config/types.js';
import type { InstanceState, InstanceTransition } from '../health/instance-health.js';
import type { HealthState } from '../health/types.js';
import type { RouteAnnouncer } from './ports.js';

/** The two rings of a service (DESIGN.md, data plane): SYNs and first packets use `new`. */
export type RingKind = 'new' | 'established';
export const RING_KIND_NAMES: readonly RingKind[] = ['new', 'established'];

/** Share of ring entries per instance id (0..1), per ring kind. */
export type RingShares = Record<RingKind, Record<string, number>>;

/** The data plane as the agent drives it. */
export interface SteeringPort {
  /** Writes the VIP table for these services (all VIPs × ports), allocating service ids as needed. */
  setServices(services: readonly ServiceConfig[]): void;
  /** Points ring `kind` of `service` at a Maglev table of `members` (instance ids of the service). */
  setRing(service: ServiceConfig, kind: RingKind, members: readonly string[]): void;
  /** Marks an instance valid or failed; a failed instance's flows re-steer through the ring. */
  setValid(service: ServiceConfig, instance: string, valid: boolean): void;
  /** Empties the rings of a service that left the config and frees its id. */
  removeService(name: string): void;
  /** What the rings give each instance now. */
  shares(name: string): RingShares;
}

export interface CheckView {
  name: string;
  state: HealthState;
  detail: string;
}

/** The health of one service: every instance, local and remote, with its checks. */
export interface HealthPort {
  start(): void;
  stop(): void;
  /** Instance id → state. */
  states(): ReadonlyMap<string, InstanceState>;
  checks(instance: string): CheckView[];
  /** Operator drain of the local instance (the drain file is watched by the health layer itself). */
  setDrainFlag(drained: boolean): void;
}

export type HealthFactory = (
  service: ServiceConfig,
  onTransition: (t: InstanceTransition) => void,
) => HealthPort;

/**
 * Client connections the local instance of `service` still serves (a drain ends early at zero), or
 * null when that cannot be told (UDP flows).
 */
export type ConnectionCounter = (service: ServiceConfig) => number | null;

/** What a speaker offers for reloading its peers without touching unchanged sessions (optional). */
export interface PeerApplier {
  applyPeers(peers: readonly PeerConfig[]): void | Promise<void>;
}

export function hasApplyPeers(x: object): x is PeerApplier {
  return typeof (x as Partial<PeerApplier>).applyPeers === 'function';
}

/** An announcer plus how to close it (the speaker's sessions) and, from a speaker, its peers' snapshot. */
export interface AnnouncerHandle {
  announcer: RouteAnnouncer;
  close(): void;
  peers?: () => readonly PeerStatus[];
  /** Routes received from the peers (the speaker's accepted Adj-RIB-In). */
  received?: () => readonly ReceivedRoute[];
}
