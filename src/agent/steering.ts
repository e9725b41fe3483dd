// SteeringPort over the real data plane (src/steer/dataplane.ts): stable service and VIP ids (taken
// back from adopted pinned maps after a restart, so a restarted agent keeps the ids the program's maps
// already use), the VIP table of every service × port, and both rings of a service built by Maglev over
// the member instances (the same instance ids and weights on every host, so every host builds the same
// table). Instance slots are keyed `<service>/<instance>`: one host runs instances of several services,
// and a failed instance of one must not invalidate the flows of another.
//
// Ring kinds: the program's `services.active[]` has a `new` (0) and an `established` (1) slot; SYNs and
// first UDP packets that miss the flow table read `new`, other TCP misses read `established` (and get the
// second chance, bpf/rings.h). An instance joining `established` after the service's first write waits the
// service's join_grace (default: its grace_time) before it is written into it (src/steer/join-grace.ts; a timer writes it then):
// had it joined both rings at once, older connections both rings now send to it would find no socket and
// no other owner.
//
// Off the loop: with a builder (src/steer/maglev-pool.ts, as `anycastd run` gives it) a ring whose table
// is not at hand is built on a worker thread and written when it comes back; every data-plane write
// (VIPs, rings, failed marks) lands in the order asked for, the ones behind a build queued after it
// (`settled()` waits for them). A ring going back to the one before it is a flip, and a table just built
// for another kind or service of the same members is reused: neither builds.

import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import type { ServiceConfig } from '../config/types.js';
import { AnycastdError } from '../errors.js';
import type { Dataplane, InstanceSpec } from '../steer/dataplane.js';
import { isRestart, JoinGrace } from '../steer/join-grace.js';
import {
  INSTANCE_NONE,
  MAX_SERVICES,
  MAX_VIPS,
  RING_KIND_ESTABLISHED,
  RING_KIND_NEW,
  VIP_F_FRAG,
} from '../steer/layout.js';
import { buildMaglev, type MaglevTable, shares, tableSlots } from '../steer/maglev.js';
import type { TableBuilder } from '../steer/maglev-pool.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../steer/proto.js';
import { ANY_PORT, type VipSpec, vipKeyHex, vipKeyOf } from '../steer/vips.js';
import type { RingKind, RingShares, SteeringPort } from './steering-port.js';
import { TableCache } from './table-cache.js';

const KIND: Record<RingKind, number> = { new: RING_KIND_NEW, established: RING_KIND_ESTABLISHED };
const PROTO = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP } as const;

export interface SteeringOptions {
  /** Builds Maglev tables off the event loop (src/steer/maglev-pool.ts); absent: built on it. */
  builder?: TableBuilder;
  /** A queued write failed (only with a builder; without one a failure is thrown to the caller). */
  onError?: (err: unknown, what: string) => void;
}

/** A ring to write: its service id as of the call, its members, and its table (null: flip back). */
interface RingWrite {
  id: number;
  service: ServiceConfig;
  kind: RingKind;
  ringKey: string;
  chosen: readonly ServiceConfig['instances'][number][];
  table: MaglevTable | null;
}

export class Steering implements SteeringPort {
  readonly dataplane: Dataplane;
  readonly #serviceIds = new Map<string, number>();
  readonly #vipIds = new Map<string, number>(); // vip key hex → vip id
  readonly #shares = new Map<string, RingShares>();
  readonly #written = new Map<string, string>(); // `<service>/<kind>` → members (id*weight) last asked for
  /** `<service>/<kind>` → the members of the ring before the active one (in the kind's other slot). */
  readonly #previous = new Map<string, string>();
  /** As written: `<service>/<kind>` → the shares of the ring before the active one; rings written. */
  readonly #previousShares = new Map<string, Record<string, number>>();
  readonly #applied = new Set<string>();
  /** The last few tables built: both kinds of a service, and services of the same instance ids, share one. */
  readonly #tables = new TableCache();
  /** Builds tables off the event loop (absent: on it, and every write lands before the call returns). */
  readonly #builder: TableBuilder | undefined;
  readonly #onError: (err: unknown, what: string) => void;
  #queued = 0;
  #tail: Promise<void> = Promise.resolve();
  readonly #joinGrace = new JoinGrace();
  readonly #joinTimers = new Map<string, TimerHandle>();
  readonly #clock: Clock;
  /** Ids the adopted maps used: VIP key hex → {vipId, serviceId}. */
  readonly #adopted = new Map<string, { vipId: number; serviceId: number }>();
  /** The adopted pins were older than a restart (join-grace.ts RESTART_WINDOW_MS): flows cleared, a newcomer. */
  readonly staleAdoption: boolean = false;

  constructor(dataplane: Dataplane, clock: Clock = systemClock, opts: SteeringOptions = {}) {
    this.dataplane = dataplane;
    this.#clock = clock;
    this.#builder = opts.builder;
    this.#onError =
      opts.onError ??
      ((err) => {
        throw err;
      });
    // Pins a long-gone agent left: the ids are still good, but the flow entries are from a past life (a
    // 5-tuple reused since would hit them) and this host rejoins as a newcomer (no #adopted services).
    if (dataplane.adopted.length > 0 && !isRestart(dataplane.pinsAgeMs)) {
      dataplane.clearFlows();
      this.staleAdoption = true;
    }
    for (const e of dataplane.state.vips)
      if (!(e.flags & VIP_F_FRAG))
        this.#adopted.set(vipKeyHex(e.key), { vipId: e.vipId, serviceId: e.serviceId });
  }

  serviceId(name: string): number | undefined {
    return this.#serviceIds.get(name);
  }

  setServices(services: readonly ServiceConfig[]): void {
    const live = new Set(services.map((s) => s.name));
    for (const name of this.#serviceIds.keys()) if (!live.has(name)) this.#serviceIds.delete(name);
    for (const s of services)
      if (!this.#serviceIds.has(s.name)) this.#serviceIds.set(s.name, this.#allocService(s));
    const wanted: { hex: string; spec: Omit<VipSpec, 'vipId'> }[] = [];
    for (const s of services)
      for (const addr of s.vips)
        for (const p of s.ports) {
          const port = p.port ?? ANY_PORT;
          const hex = vipKeyHex(vipKeyOf(addr, PROTO[p.protocol], port));
          wanted.push({
            hex,
            spec: { serviceId: this.#serviceIds.get(s.name)!, addr, proto: p.protocol, port },
          });
        }
    const liveVips = new Set(wanted.map((w) => w.hex));
    for (const hex of this.#vipIds.keys()) if (!liveVips.has(hex)) this.#vipIds.delete(hex);
    const ids = { taken: new Set(this.#vipIds.values()), next: 0 };
    const specs = wanted.map((w) => ({ ...w.spec, vipId: this.#vipId(w.hex, ids) }));
    this.#apply(() => this.dataplane.setVips(specs));
  }

  setRing(service: ServiceConfig, kind: RingKind, wantedMembers: readonly string[]): void {
    const id = this.#id(service.name);
    let members = wantedMembers;
    if (kind === 'established') {
      const now = this.#clock.now();
      const adopted = !this.staleAdoption && [...this.#adopted.values()].some((a) => a.serviceId === id);
      const newcomer = adopted ? undefined : service.localInstanceId;
      const admitted = this.#joinGrace.admit(service.name, wantedMembers, service.joinGraceMs, now, newcomer);
      members = admitted.members;
      this.#scheduleJoin(service, wantedMembers, admitted.nextDue, now);
    }
    const wanted = new Set(members);
    const chosen = service.instances.filter((i) => wanted.has(i.id));
    // An unchanged ring is not rewritten: a write flips to the kind's other slot, whose old content the
    // second chance reads as the previous ring (bpf/rings.h), and an identical write would lose it.
    const written = chosen
      .map((i) => `${i.id}*${i.weight}`)
      .sort()
      .join(',');
    const ringKey = `${service.name}/${kind}`;
    const before = this.#written.get(ringKey);
    if (before === written) return;
    this.#written.set(ringKey, written);
    // The ring before the active one is still in the kind's other slot: going back to it is a flip.
    const flip = before !== undefined && this.#previous.get(ringKey) === written;
    if (before === undefined) this.#previous.delete(ringKey);
    else this.#previous.set(ringKey, before);
    const write: RingWrite = { id, service, kind, ringKey, chosen, table: null };
    const size = this.dataplane.state.config.ringSize;
    const set = chosen.map((i) => ({ id: i.id, weight: i.weight }));
    const cached = flip ? undefined : this.#tables.get(written, size);
    if (flip || cached || !this.#builder) {
      write.table = flip ? null : (cached ?? this.#tables.put(written, size, buildMaglev(set, size)));
      this.#apply(() => this.#writeRing(write), ringKey);
      return;
    }
    const building = this.#builder.build(set, size); // starts now, beside the writes queued before it
    this.#applyAfter(
      building.then((t) => this.#tables.put(written, size, t)),
      (t) => this.#writeRing({ ...write, table: t }),
      ringKey,
    );
  }

  /**
   * Writes a ring now (in call order, see #apply): its instances, then the ring (a flip alone when
   * `table` is null: the other slot holds it), and the shares it gives.
   */
  #writeRing(w: RingWrite): void {
    const slotOf = new Map(
      w.chosen.map((i) => [i.id, this.dataplane.setInstance(this.#spec(w.service, i.id))]),
    );
    const current = this.#shares.get(w.service.name) ?? { new: {}, established: {} };
    const spare = w.table ? undefined : this.dataplane.spareRing(w.id, KIND[w.kind]);
    const previous = this.#previousShares.get(w.ringKey);
    let perId: Record<string, number>;
    if (spare && previous) {
      this.dataplane.writeRing(w.id, KIND[w.kind], spare);
      perId = previous;
    } else {
      const table =
        w.table ??
        buildMaglev(
          w.chosen.map((i) => ({ id: i.id, weight: i.weight })),
          this.dataplane.state.config.ringSize,
        );
      const ring = tableSlots(
        table,
        table.ids.map((i) => slotOf.get(i)!),
        INSTANCE_NONE,
      );
      this.dataplane.writeRing(w.id, KIND[w.kind], ring);
      const size = table.table.length;
      perId = Object.fromEntries([...shares(table)].map(([inst, n]) => [inst, n / size]));
    }
    if (this.#applied.has(w.ringKey)) this.#previousShares.set(w.ringKey, current[w.kind]);
    this.#applied.add(w.ringKey);
    this.#shares.set(w.service.name, { ...current, [w.kind]: perId });
  }

  setValid(service: ServiceConfig, instance: string, valid: boolean): void {
    const spec = this.#spec(service, instance);
    this.#apply(() => {
      this.dataplane.setInstance(spec, valid);
    });
  }

  removeService(name: string): void {
    const id = this.#serviceIds.get(name);
    if (id === undefined) return;
    this.#clearJoin(name);
    this.#joinGrace.forget(name);
    for (const kind of Object.keys(KIND)) {
      this.#written.delete(`${name}/${kind}`);
      this.#previous.delete(`${name}/${kind}`);
    }
    this.#serviceIds.delete(name);
    this.#apply(() => {
      const empty = new Uint32Array(this.dataplane.state.config.ringSize).fill(INSTANCE_NONE);
      for (const kind of Object.values(KIND)) this.dataplane.writeRing(id, kind, empty);
      for (const kind of Object.keys(KIND)) {
        this.#applied.delete(`${name}/${kind}`);
        this.#previousShares.delete(`${name}/${kind}`);
      }
      this.#shares.delete(name);
    });
  }

  /** Resolves once every data-plane write asked for so far has landed (builds off the loop included). */
  async settled(): Promise<void> {
    while (this.#queued > 0) await this.#tail;
  }

  /**
   * Data-plane writes land in the order they were asked for. With nothing queued a write is made at
   * once (and a failure thrown to the caller); while a ring waits for its table from the builder, later
   * writes queue behind it, and a failure there is reported through `onError` (the ring is written again
   * at the next change).
   */
  #apply(op: () => void, ringKey?: string): void {
    if (this.#queued === 0) {
      op();
      return;
    }
    this.#chain(async () => op(), ringKey);
  }

  #applyAfter<T>(wait: Promise<T>, op: (v: T) => void, ringKey: string): void {
    wait.catch(() => {}); // handled in its turn by the chain
    this.#chain(async () => op(await wait), ringKey);
  }

  #chain(step: () => Promise<void>, ringKey?: string): void {
    this.#queued++;
    this.#tail = this.#tail
      .then(step)
      .catch((err: unknown) => {
        if (ringKey) {
          this.#written.delete(ringKey);
          this.#previous.delete(ringKey);
        }
        this.#onError(err, ringKey ?? 'instance');
      })
      .finally(() => {
        this.#queued--;
      });
  }

  shares(name: string): RingShares {
    return this.#shares.get(name) ?? { new: {}, established: {} };
  }

  #clearJoin(name: string): void {
    this.#clock.clearTimeout(this.#joinTimers.get(name));
    this.#joinTimers.delete(name);
  }

  /** (Re)arms the write of `service`'s established ring for when its next held joiner falls due. */
  #scheduleJoin(service: ServiceConfig, wanted: readonly string[], due: number | null, now: number): void {
    this.#clearJoin(service.name);
    if (due === null) return;
    const timer = this.#clock.setTimeout(
      () => {
        this.#joinTimers.delete(service.name);
        if (this.#serviceIds.has(service.name)) this.setRing(service, 'established', wanted);
      },
      due - now,
      { unref: true },
    );
    this.#joinTimers.set(service.name, timer);
  }

  #id(name: string): number {
    const id = this.#serviceIds.get(name);
    if (id === undefined)
      throw new AnycastdError('ERR_INVALID_ARGUMENT', `steering: unknown service ${name}`);
    return id;
  }

  /** The id the adopted maps gave one of its VIPs, if free; else the lowest free id. */
  #allocService(s: ServiceConfig): number {
    const taken = new Set(this.#serviceIds.values());
    const room = Math.min(MAX_SERVICES, this.dataplane.ringServices);
    for (const addr of s.vips)
      for (const p of s.ports) {
        const prior = this.#adopted.get(vipKeyHex(vipKeyOf(addr, PROTO[p.protocol], p.port ?? ANY_PORT)));
        if (prior && prior.serviceId < room && !taken.has(prior.serviceId)) return prior.serviceId;
      }
    for (let id = 0; id < room; id++) if (!taken.has(id)) return id;
    throw new AnycastdError(
      'ERR_INVALID_ARGUMENT',
      `steering: service ${s.name} would be service ${room + 1}: the rings map, sized when the program ` +
        `loaded, has room for ${room} (dataplane.max_services); restart the agent to make room`,
    );
  }

  /** A VIP's id: the one it has, else the one the adopted maps gave it if free, else the lowest free. */
  #vipId(hex: string, ids: { taken: Set<number>; next: number }): number {
    const known = this.#vipIds.get(hex);
    if (known !== undefined) return known;
    const prior = this.#adopted.get(hex);
    let id = prior && !ids.taken.has(prior.vipId) ? prior.vipId : -1;
    if (id < 0) {
      while (ids.taken.has(ids.next)) ids.next++;
      id = ids.next;
    }
    if (id >= MAX_VIPS)
      throw new AnycastdError('ERR_INVALID_ARGUMENT', `steering: more than ${MAX_VIPS} VIP/port entries`);
    ids.taken.add(id);
    this.#vipIds.set(hex, id);
    return id;
  }

  /** The data plane's view of an instance; its slot is named `<service>/<instance>`. */
  #spec(service: ServiceConfig, instance: string): InstanceSpec {
    const inst = service.instances.find((i) => i.id === instance);
    if (!inst)
      throw new AnycastdError(
        'ERR_INVALID_ARGUMENT',
        `steering: ${service.name} has no instance ${instance}`,
      );
    return {
      id: `${service.name}/${inst.id}`,
      ...(inst.host.ipv4 ? { host4: inst.host.ipv4 } : {}),
      ...(inst.host.ipv6 ? { host6: inst.host.ipv6 } : {}),
      local: inst.id === service.localInstanceId,
    };
  }
}
