// The members of each service as every host derives them from the store (watch.ts), and the ring input
// they make: members sorted by instance id, `new` = those whose own agent keeps them in its `new` ring,
// `established` = those it keeps in `established`; a failed instance is in neither. The input is a pure
// function of the watched set at one revision, so every host at that revision builds the same rings
// (Maglev is deterministic over sorted ids and weights: DESIGN.md), and its digest (digest.ts) is what
// hosts compare.
//
// An instance whose key leaves the store while its agent still kept it in `established` (its lease
// expired: the host died, or lost etcd for longer than its TTL) leaves `new` at once and stays in
// `established` for the service's drain_time (a departure, on the injected clock), so connections it
// holds keep their owner; a new registration of it ends the departure. The departure's end is a local
// timer: hosts drop it within their clocks' skew of each other, and their digests agree again after.

import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../../clock.js';
import type { InstanceRecord } from './record.js';
import type { MemberWatch, Registered, WatchChange } from './watch.js';

/** A member: its record as its agent wrote it (`new` false while departing), and where it stands. */
export interface Member extends InstanceRecord {
  id: string;
  /** etcd mod revision of its key (of the last one it had, while departing). */
  modRevision: number;
  lease: string;
  /** Its key left the store; it stays in `established` until `departsAt` (clock ms). */
  departing: boolean;
  departsAt: number | null;
}

export type RingKind = 'new' | 'established';

export interface MembershipEvents {
  /** The members of `service` changed (at `revision`). */
  changed: [service: string, revision: number];
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class Membership extends EventEmitter<MembershipEvents> {
  readonly #watch: MemberWatch;
  readonly #clock: Clock;
  readonly #drainTimeMs: (service: string) => number;
  /** `<service>/<instance>` → the departing registration and its timer. */
  readonly #departing = new Map<string, { r: Registered; at: number; timer: TimerHandle }>();

  constructor(watch: MemberWatch, clock: Clock, drainTimeMs: (service: string) => number) {
    super();
    this.#watch = watch;
    this.#clock = clock;
    this.#drainTimeMs = drainTimeMs;
    watch.on('change', (c) => this.#onChange(c));
  }

  get revision(): number {
    return this.#watch.revision;
  }

  /** Every member of `service`, sorted by id (departing ones included). */
  members(service: string): Member[] {
    const out: Member[] = [];
    for (const r of this.#watch.instances.get(service)?.values() ?? []) out.push(toMember(r, false, null));
    for (const d of this.#departing.values())
      if (d.r.service === service) out.push(toMember(d.r, true, d.at));
    return out.sort(byId);
  }

  /** The members of ring `kind` of `service`: sorted ids and weights (and hosts, for the data plane). */
  ring(service: string, kind: RingKind): Member[] {
    return this.members(service).filter((m) => m.state !== 'failed' && m[kind]);
  }

  /** Services with at least one member. */
  services(): string[] {
    const out = new Set(this.#watch.instances.keys());
    for (const d of this.#departing.values()) out.add(d.r.service);
    return [...out].sort();
  }

  close(): void {
    for (const d of this.#departing.values()) this.#clock.clearTimeout(d.timer);
    this.#departing.clear();
  }

  #onChange(c: WatchChange): void {
    const touched = new Set(c.services);
    for (const [k, d] of this.#departing)
      if (this.#watch.instances.get(d.r.service)?.has(d.r.instance)) {
        this.#clock.clearTimeout(d.timer);
        this.#departing.delete(k);
        touched.add(d.r.service);
      }
    for (const r of c.gone) {
      if (r.record.state === 'failed' || !r.record.established) continue;
      const ms = this.#drainTimeMs(r.service);
      if (ms <= 0) continue;
      const k = `${r.service}/${r.instance}`;
      const at = this.#clock.now() + ms;
      const timer = this.#clock.setTimeout(
        () => {
          if (this.#departing.get(k)?.r !== r) return;
          this.#departing.delete(k);
          this.emit('changed', r.service, this.#watch.revision);
        },
        ms,
        { unref: true },
      );
      this.#clock.clearTimeout(this.#departing.get(k)?.timer ?? null);
      this.#departing.set(k, { r, at, timer });
      touched.add(r.service);
    }
    for (const s of touched) this.emit('changed', s, c.revision);
  }
}

function toMember(r: Registered, departing: boolean, departsAt: number | null): Member {
  return {
    id: r.instance,
    node: r.record.node,
    host: r.record.host,
    weight: r.record.weight,
    state: r.record.state,
    new: departing ? false : r.record.new,
    established: r.record.established,
    modRevision: r.modRevision,
    lease: r.lease,
    departing,
    departsAt,
  };
}
