// The rings of one service as the agent writes them: the member set of each kind — every remote
// instance that is up here and that its own agent keeps in that kind (or says nothing of: src/cluster/),
// and the local instance while the agent's ordered steps keep it in that kind —
// written only when it changed (an unchanged set is never rewritten, so a reload or a repeated step
// costs the data plane nothing), and each instance marked failed once it is down here or its own agent
// reports it down (its flows re-steer). A report only ever takes an instance out, never puts one in.

import type { InstanceReport } from '../cluster/report.js';
import type { ServiceConfig } from '../config/types.js';
import type { InstanceState } from '../health/instance-health.js';
import { RING_KINDS, type RingKind, type SteeringPort } from './steering-port.js';

export type RingLog = (event: string, fields: Record<string, unknown>) => void;

/** What a remote instance's own agent says of it, if anything. */
export type Reported = (instance: string) => InstanceReport | undefined;

const noReports: Reported = () => undefined;

export class ServiceRings {
  /** Whether the local instance belongs in each ring kind (set by the ordered steps). */
  readonly local: Record<RingKind, boolean> = { new: false, established: false };
  readonly #steering: SteeringPort;
  readonly #log: RingLog;
  readonly #written: Record<RingKind, string | null> = { new: null, established: null };
  readonly #members: Record<RingKind, string[]> = { new: [], established: [] };
  readonly #valid = new Map<string, boolean>();

  constructor(steering: SteeringPort, log: RingLog) {
    this.#steering = steering;
    this.#log = log;
  }

  /** Instance ids in ring `kind` as last written. */
  members(kind: RingKind): readonly string[] {
    return this.#members[kind];
  }

  /** Writes the rings whose member set changed, then marks failed the remote instances that are down. */
  write(
    service: ServiceConfig,
    states: ReadonlyMap<string, InstanceState>,
    reason: string,
    reported: Reported = noReports,
  ): void {
    const local = service.localInstanceId;
    const remoteIn = (id: string, kind: RingKind): boolean => {
      const r = reported(id);
      return states.get(id) === 'up' && (!r || (r.state !== 'down' && r[kind]));
    };
    for (const kind of RING_KINDS) {
      const members = service.instances
        .filter((i) => (i.id === local ? this.local[kind] : remoteIn(i.id, kind)))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const key = members.map((i) => `${i.id}*${i.weight}`).join(',');
      if (key === this.#written[kind]) continue;
      const ids = members.map((i) => i.id);
      this.#steering.setRing(service, kind, ids);
      this.#written[kind] = key;
      this.#members[kind] = ids;
      for (const id of ids) this.#valid.set(id, true);
      this.#log('ring-updated', { reason, kind, members: ids });
    }
    for (const i of service.instances)
      if (i.id !== local && (states.get(i.id) === 'down' || reported(i.id)?.state === 'down'))
        this.setValid(service, i.id, false, reason);
  }

  /** Marks an instance valid or failed in the data plane (once per change). */
  setValid(service: ServiceConfig, instance: string, valid: boolean, reason: string): void {
    if (this.#valid.get(instance) === valid) return;
    this.#steering.setValid(service, instance, valid);
    this.#valid.set(instance, valid);
    this.#log(valid ? 'instance-valid' : 'instance-failed', { reason, instance });
  }
}
