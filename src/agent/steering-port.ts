// The data plane as the agent drives it: the VIP table, the two rings of each service and the failed
// mark of an instance. The agent depends on this interface only, so its ordering can be tested with a
// recording fake; steering.ts implements it over src/steer's Dataplane.

import type { ServiceConfig } from '../config/types.js';

/** The two rings of a service (DESIGN.md, data plane): SYNs and first packets use `new`. */
export type RingKind = 'new' | 'established';
export const RING_KINDS: readonly RingKind[] = ['new', 'established'];

/** Share of ring entries per instance id (0..1), per ring kind. */
export type RingShares = Record<RingKind, Record<string, number>>;

export interface SteeringPort {
  /** Writes the VIP table for these services (all VIPs × ports), allocating service ids as needed. */
  setServices(services: readonly ServiceConfig[]): void;
  /**
   * Points ring `kind` of `service` at a Maglev table of `members` (instance ids of the service). The
   * write may land a few ms later (its table built off the event loop); writes land in call order.
   */
  setRing(service: ServiceConfig, kind: RingKind, members: readonly string[]): void;
  /** Marks an instance valid or failed; a failed instance's flows re-steer through the ring. */
  setValid(service: ServiceConfig, instance: string, valid: boolean): void;
  /** Empties the rings of a service that left the config and frees its id. */
  removeService(name: string): void;
  /** Resolves once every write asked for so far has landed in the data plane (absent: writes are synchronous). */
  settled?(): Promise<void>;
  /** What the rings give each instance now. */
  shares(name: string): RingShares;
}
