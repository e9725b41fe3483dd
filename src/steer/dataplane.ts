// Control side of the steering program: load bpf/steer.bpf.o with its tunables, pin its maps under
// /sys/fs/bpf/anycastd/ (adopting the pinned ones on start, so flows survive an agent restart; pins of an
// older layout migrated, of an unknown one refused: pin-plan.ts, finished by finishUpgrade), write
// VIPs, instances and Maglev rings (spare ring first, then the one-word flip of the active index),
// attach/replace on interfaces, and read the per-CPU counters summed. It keeps a mirror of what it
// wrote (`state`), the input of the TypeScript model of the program (model/steer.ts, outside the product).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AnycastdError, SystemError } from '../errors.js';
import {
  attachXdp,
  BpfMap,
  BpfObject,
  type BpfProgram,
  detachXdp,
  ensureBpffs,
  possibleCpus,
  projectRoot,
  replaceXdp,
  type XdpMode,
} from '../native/index.js';
import { ipv4Bytes, ipv6Bytes } from './addr.js';
import { type Adopted, readFlows, readMaps, u32key } from './adopt.js';
import { hashFlowSlot } from './hash.js';
import * as L from './layout.js';
import { buildMaglev, isPrime, type MaglevMember, tableSlots } from './maglev.js';
import { copyEntries, copyMissing } from './migrate.js';
import {
  LINK_PINS,
  type MapShape,
  type ObjectLayout,
  type PinPlan,
  planPins,
  UNVERSIONED_LAYOUT,
} from './pin-plan.js';
import {
  NO_PLACEMENT,
  placeVips,
  type VipPlacement,
  type VipSpec,
  vipEntries,
  vipFilterWords,
  vipKeyHex,
  vipTableImage,
} from './vips.js';

export const DEFAULT_PIN_DIR = '/sys/fs/bpf/anycastd';
export const PROGRAM = 'steer';
export const MAP_NAMES = [
  'vip_table',
  'vip_spill',
  'vip_filter',
  'services',
  'rings',
  'instances',
  'instance_ids',
  'flows',
  'vip_stats',
  'global_stats',
  'agent_beat',
  'pin_layout',
] as const;
export type MapName = (typeof MAP_NAMES)[number];
/** The flow_cache key of a flow (steer_core.h: hash_flow_slot & (FLOW_CACHE_SLOTS - 1)). */
const cacheSlotKey = (flowKey: Buffer): Buffer => u32key(hashFlowSlot(flowKey) & (L.FLOW_CACHE_SLOTS - 1));
const MIN_MTU = 1280 + 40; // an IPv6 packet of the minimum MTU must fit once encapsulated
/** Maps of one program instance, never pinned: the per-CPU flow cache, the control word governing it, the flood guard's window. */
const UNPINNED: ReadonlySet<string> = new Set(['ctl', 'flow_cache', 'flood_window']);
/**
 * Maps whose capacity is set at load (dataplane.flow_table_size; the rings' room in services) or fixed by a
 * constant that grew (services): pinned at another size, they are migrated.
 */
const RESIZABLE: ReadonlySet<string> = new Set(['flows', 'services', 'rings']);
/**
 * Maps whose value size is set at load (rings: 4 × ring_size): pinned with another value size they are
 * made anew, nothing copied (a ring of another size is no ring of this one); the agent writes every
 * service's rings at start.
 */
const REVALUED: ReadonlySet<string> = new Set(['rings']);
/** A migrated map's new pin is made under this suffix, then renamed over the old one (bpffs refuses dots). */
export const NEXT_PIN_SUFFIX = '_swap';

export interface DataplaneOptions {
  objectPath?: string; // default <project>/build/bpf/steer.bpf.o
  program?: string; // default 'steer' (the benchmark harness has 'steer_undo')
  pinDir?: string; // default /sys/fs/bpf/anycastd; null-ish = no pinning
  pin?: boolean; // default true
  ringSize?: number; // a prime <= RING_SIZE_MAX (default 65537)
  hashSeed?: number;
  mtu?: number; // fabric MTU (default 1500)
  host4?: string; // this host's addresses
  host6?: string;
  rodata?: Record<string, Buffer>; // further `const volatile` globals (the benchmark harness's)
  /** Entries of the flow table (default the object's MAX_FLOWS); a pinned table of another size is migrated. */
  flowTableSize?: number;
  /** The flood guard: flow inserts per CPU per second past which new flows are not recorded (0: none, the default). */
  floodNewFlowsPerCpu?: number;
  /** Record settled flows too (default true); false: a TCP flow whose four ring slots name one owner is only cached per CPU (bpf/README.md "Fewer inserts"). */
  recordSettled?: boolean;
  /** Services the rings map has room for (default L.RING_SERVICES; at most L.MAX_SERVICES). */
  ringServices?: number;
}

export interface InstanceSpec extends MaglevMember {
  readonly host4?: string;
  readonly host6?: string;
  readonly local: boolean;
}

export class Dataplane {
  readonly state: L.SteerState;
  readonly program: BpfProgram;
  readonly adopted: string[]; // maps whose content was kept: pins used as they are, or migrated
  readonly migrated: string[]; // pins of an older layout copied into this object's wider maps
  /** The pins' layout version as found (null: none were pinned) and this object's. */
  readonly layout: { readonly pinned: number | null; readonly object: number };
  /** Ms since the agent that left the adopted pins last beat (heartbeat()); null without a beat. */
  readonly pinsAgeMs: number | null;
  readonly #obj: BpfObject;
  readonly #maps: Record<MapName, BpfMap>;
  readonly #ctl: BpfMap; // per program instance, never pinned (like flow_cache, which it governs)
  readonly #cache: BpfMap; // flow_cache
  #vipPlaced: VipPlacement = NO_PLACEMENT; // where each VIP entry sits (vip_table slot or vip_spill)
  #vipImage = new Map<number, Buffer>(); // vip_table slots written (absent: all zero)
  #vipFilter = new Map<number, bigint>(); // vip_filter words written, non-zero ones
  readonly #instanceSlots = new Map<string, number>(); // instance id → slot
  /** A migration waiting for the swap (finishUpgrade): the old pinned maps, still open. */
  #upgrade: Upgrade | null = null;

  private constructor(obj: BpfObject, config: L.SteerConfig, pins: Pins, program: string) {
    this.#obj = obj;
    this.adopted = [...pins.plan.adopt, ...pins.plan.migrate];
    this.migrated = [...pins.plan.migrate];
    this.layout = { pinned: pins.plan.pinnedVersion, object: pins.object.version };
    this.program = obj.program(program);
    this.#maps = Object.fromEntries(MAP_NAMES.map((n) => [n, obj.map(n)])) as Record<MapName, BpfMap>;
    this.#ctl = obj.map('ctl');
    this.#cache = obj.map('flow_cache');
    this.pinsAgeMs = this.adopted.includes('agent_beat') ? this.#beatAgeMs() : null;
    this.state = {
      config,
      vips: [],
      services: new Map(),
      rings: new Map(),
      instances: new Map(),
      flows: new Map(),
    };
  }

  /** Opens, configures and loads the program; adopts the maps pinned in pinDir, pins the others. */
  static open(opts: DataplaneOptions = {}): Dataplane {
    const config: L.SteerConfig = {
      ringSize: opts.ringSize ?? 65537,
      hashSeed: (opts.hashSeed ?? L.DEFAULT_HASH_SEED) >>> 0,
      mtu: opts.mtu ?? 1500,
      host4: opts.host4 ? ipv4Bytes(opts.host4) : Buffer.alloc(4),
      host6: opts.host6 ? ipv6Bytes(opts.host6) : Buffer.alloc(16),
      ...(opts.recordSettled === false ? { recordSettled: false } : {}),
    };
    if (!isPrime(config.ringSize) || config.ringSize > L.RING_SIZE_MAX)
      throw new AnycastdError(
        'ERR_INVALID_ARGUMENT',
        `ring size ${config.ringSize}: a prime <= ${L.RING_SIZE_MAX}`,
      );
    if (config.mtu < MIN_MTU || config.mtu > 0xffff)
      throw new AnycastdError('ERR_INVALID_ARGUMENT', `mtu ${config.mtu}: must be ${MIN_MTU}..65535`);
    const obj = BpfObject.open(opts.objectPath ?? join(projectRoot(), 'build/bpf/steer.bpf.o'));
    let old: Map<string, BpfMap> = new Map();
    try {
      const u32 = (v: number): Buffer => Buffer.from(new Uint32Array([v]).buffer);
      obj.setRodata('ring_size', u32(config.ringSize));
      obj.setRodata('hash_seed', u32(config.hashSeed));
      obj.setRodata('mtu', u32(config.mtu));
      obj.setRodata('host4', config.host4);
      obj.setRodata('host6', config.host6);
      if (opts.floodNewFlowsPerCpu) obj.setRodata('flood_new_flows', u32(opts.floodNewFlowsPerCpu));
      if (config.recordSettled === false) obj.setRodata('record_settled', u32(0));
      for (const [name, value] of Object.entries(opts.rodata ?? {})) obj.setRodata(name, value);
      const flowTableSize = opts.flowTableSize ?? L.MAX_FLOWS;
      if (!L.validFlowTableSize(flowTableSize))
        throw new AnycastdError(
          'ERR_INVALID_ARGUMENT',
          `flow table size ${flowTableSize}: must be ${L.MIN_FLOW_TABLE}..${L.MAX_FLOW_TABLE}`,
        );
      obj.setMaxEntries('flows', flowTableSize);
      const ringServices = opts.ringServices ?? L.RING_SERVICES;
      if (!Number.isInteger(ringServices) || ringServices < 1 || ringServices > L.MAX_SERVICES)
        throw new AnycastdError(
          'ERR_INVALID_ARGUMENT',
          `rings for ${ringServices} services: must be 1..${L.MAX_SERVICES}`,
        );
      obj.setMaxEntries('rings', ringServices * L.RING_SLOTS);
      obj.setValueSize('rings', 4 * config.ringSize);
      const object = objectLayout(obj);
      const wanted = new Map(
        obj
          .declaredMaps()
          .filter((m) => !m.internal && !UNPINNED.has(m.name))
          .map((m) => [m.name, m as MapShape]),
      );
      const pinDir = opts.pin === false ? undefined : (opts.pinDir ?? DEFAULT_PIN_DIR);
      let plan: PinPlan = {
        pinnedVersion: null,
        adopt: [],
        migrate: [],
        create: [...wanted.keys()],
        stale: [],
      };
      if (pinDir) {
        ensureBpffs();
        mkdirSync(pinDir, { recursive: true });
        const pinned = readPins(pinDir);
        plan = planPins(pinDir, pinned.shapes, pinned.version, wanted, object, RESIZABLE, REVALUED); // refuses before any change
        for (const name of plan.adopt) obj.reuseMap(name, join(pinDir, name));
        old = new Map(plan.migrate.map((name) => [name, BpfMap.openPinned(join(pinDir, name))]));
      }
      loadSized(obj, flowTableSize, ringServices, config.ringSize);
      const dp = new Dataplane(obj, config, { plan, object }, opts.program ?? PROGRAM);
      if (pinDir) {
        for (const name of plan.create) pinAt(obj.map(name), join(pinDir, name));
        for (const [name, from] of old)
          if (!REVALUED.has(name) || from.valueSize === obj.map(name).valueSize)
            copyEntries(from, obj.map(name));
        if (plan.migrate.length === 0 && plan.stale.length === 0) dp.#writeLayout(object.version);
        else dp.#upgrade = { pinDir, old, stale: plan.stale, version: object.version };
      }
      if (dp.adopted.length > 0) dp.#adopt(readMaps((n) => dp.#maps[n as MapName], config.ringSize));
      return dp;
    } catch (err) {
      for (const m of old.values()) m.close();
      obj.close();
      throw err;
    }
  }

  /** A migration is waiting for finishUpgrade (the new program attached everywhere). */
  get upgrading(): boolean {
    return this.#upgrade !== null;
  }

  /**
   * Ends a migration once this program replaced the old one on every interface: the flows the old
   * program recorded since the copy are added (never over the new program's own), each migrated map's
   * pin is replaced by its new map (pinned beside it, renamed over it), pins of maps this layout no
   * longer has are removed, and the pins' layout version is written last. Null when there was nothing to
   * finish; else how many entries were added per map.
   */
  finishUpgrade(): Record<string, number> | null {
    const u = this.#upgrade;
    if (!u) return null;
    const added: Record<string, number> = {};
    for (const [name, from] of u.old) {
      const to = this.#obj.map(name);
      added[name] = copyMissing(from, to);
      const path = join(u.pinDir, name);
      pinAt(to, path + NEXT_PIN_SUFFIX);
      renameSync(path + NEXT_PIN_SUFFIX, path);
      from.close();
    }
    for (const name of u.stale) rmSync(join(u.pinDir, name), { force: true });
    this.#writeLayout(u.version);
    this.#upgrade = null;
    return added;
  }

  #writeLayout(version: number): void {
    const v = Buffer.alloc(L.LAYOUTS.pin_layout.size);
    v.writeUInt32LE(version, L.LAYOUTS.pin_layout.fields.version);
    this.#maps.pin_layout.update(u32key(0), v);
  }

  map(name: MapName): BpfMap {
    return this.#maps[name];
  }

  /** A map of this program instance that is never pinned (UNPINNED): the flow cache, its control word,
   * the flood guard's window — read or set by tests and diagnostics. */
  unpinnedMap(name: 'ctl' | 'flow_cache' | 'flood_window'): BpfMap {
    return this.#obj.map(name);
  }

  /** A map another program loaded beside this one shares (by fd): a pinned one, or the flow_cache. */
  sharedMap(name: MapName | 'flow_cache'): BpfMap {
    return name === 'flow_cache' ? this.#cache : this.#maps[name];
  }

  /**
   * Replaces the VIP set so that no packet misses a VIP that stays: spilled entries, then the table's
   * live slots, then the address filter's bits are written first; then vacated slots become tombstones
   * and spilled entries no longer wanted are deleted. Only slots and words that change are written.
   */
  setVips(specs: readonly VipSpec[]): void {
    const entries = vipEntries(specs);
    const placed = placeVips(entries, this.#vipPlaced);
    const image = vipTableImage(entries, placed, this.#vipImage);
    const byHex = new Map(entries.map((e) => [vipKeyHex(e.key), e]));
    const spilled = [...placed.spilled].map((hex) => byHex.get(hex)!);
    if (spilled.length > 0)
      this.#maps.vip_spill.updateBatch(
        spilled.map((e) => L.encodeVipKey(e.key)),
        spilled.map((e) => L.encodeVipEntry(e)),
      );
    const changed = [...image].filter(([slot, v]) => !this.#vipImage.get(slot)?.equals(v));
    const isLive = (v: Buffer): boolean =>
      (v.readUInt32LE(L.LAYOUTS.vip_entry.fields.flags) & L.VIP_F_USED) !== 0;
    const writeSlots = (slots: [number, Buffer][]): void => {
      if (slots.length > 0)
        this.#maps.vip_table.updateBatch(
          slots.map(([slot]) => u32key(slot)),
          slots.map(([, v]) => v),
        );
    };
    writeSlots(changed.filter(([, v]) => isLive(v)));
    const words = vipFilterWords(entries);
    const wordWrites = [...new Set([...words.keys(), ...this.#vipFilter.keys()])].filter(
      (w) => (words.get(w) ?? 0n) !== (this.#vipFilter.get(w) ?? 0n),
    );
    if (wordWrites.length > 0)
      this.#maps.vip_filter.updateBatch(
        wordWrites.map(u32key),
        wordWrites.map((w) => {
          const v = Buffer.alloc(8);
          v.writeBigUInt64LE(words.get(w) ?? 0n);
          return v;
        }),
      );
    writeSlots(changed.filter(([, v]) => !isLive(v)));
    for (const hex of this.#vipPlaced.spilled)
      if (!placed.spilled.has(hex)) this.#maps.vip_spill.delete(Buffer.from(hex, 'hex'));
    this.#vipPlaced = placed;
    this.#vipImage = image;
    this.#vipFilter = words;
    this.state.vips = entries;
  }

  /** Where the VIP entries sit (tests, diagnostics). */
  get vipPlacement(): VipPlacement {
    return this.#vipPlaced;
  }

  /** The slot of an instance id (allocated on first use, stable for the life of the maps). */
  instanceSlot(id: string): number {
    let slot = this.#instanceSlots.get(id);
    if (slot === undefined) {
      slot = this.#instanceSlots.size;
      const name = Buffer.from(id);
      if (slot >= L.MAX_INSTANCES || name.length >= L.INSTANCE_ID_LEN)
        throw new AnycastdError('ERR_INVALID_ARGUMENT', `instance ${id}: too many instances or id too long`);
      const value = Buffer.alloc(L.INSTANCE_ID_LEN);
      name.copy(value);
      this.#maps.instance_ids.update(u32key(slot), value);
      this.#instanceSlots.set(id, slot);
    }
    return slot;
  }

  /** Writes an instance's addresses; `valid: false` makes its flows re-steer (a failed instance). */
  setInstance(spec: InstanceSpec, valid = true): number {
    const slot = this.instanceSlot(spec.id);
    const inst: L.Instance = {
      host4: spec.host4 ? ipv4Bytes(spec.host4) : Buffer.alloc(4),
      host6: spec.host6 ? ipv6Bytes(spec.host6) : Buffer.alloc(16),
      flags: (valid ? L.INSTANCE_F_VALID : 0) | (spec.local ? L.INSTANCE_F_LOCAL : 0),
    };
    // A valid instance written as it stands is not written again (every ring write names its members).
    if (valid && sameInstance(this.state.instances.get(slot), inst)) return slot;
    this.#maps.instances.update(u32key(slot), L.encodeInstance(inst));
    // its flows re-steer; no CPU's cache may send them back should the instance return
    if (!valid) this.#newCacheGeneration();
    this.state.instances.set(slot, inst);
    return slot;
  }

  /**
   * Points a service's `new` ring at a Maglev table of `members` (instances written first, then the
   * spare ring, then the flip). Members that left keep their instance entry, so their flows stay.
   */
  setServiceMembers(serviceId: number, members: readonly InstanceSpec[]): Uint32Array {
    const ring = this.#ringOf(members);
    this.writeRing(serviceId, L.RING_KIND_NEW, ring);
    return ring;
  }

  /** A Maglev table of `members` as instance slots (their instance entries written first). */
  #ringOf(members: readonly InstanceSpec[]): Uint32Array {
    const table = buildMaglev(members, this.state.config.ringSize);
    const slotOf = new Map(members.map((m) => [m.id, this.setInstance(m)]));
    return tableSlots(
      table,
      table.ids.map((id) => slotOf.get(id)!),
      L.INSTANCE_NONE,
    );
  }

  /**
   * Both rings of a service (connections survive membership changes, DESIGN.md): `new` for SYN / UDP /
   * other misses, `established` for non-SYN TCP misses (written first, so a packet never sees an
   * established ring newer than its new ring's members).
   * A service given only setServiceMembers keeps one ring and the program's one-ring behaviour.
   */
  setServiceRings(
    serviceId: number,
    rings: Readonly<Record<'new' | 'established', readonly InstanceSpec[]>>,
  ): void {
    for (const [kind, members] of [
      [L.RING_KIND_ESTABLISHED, rings.established],
      [L.RING_KIND_NEW, rings.new],
    ] as const) {
      this.writeRing(serviceId, kind, this.#ringOf(members));
    }
  }

  /**
   * Writes `ring` (instance slots) into the spare slot of (service, kind), then flips to it. The spare
   * holds the ring before the active one; when it already holds `ring` (an instance that left and came
   * back) nothing is written but the flip. A ring is one map value (bpf/steer.h `struct ring`): the
   * kernel copies it in one update (~30–60 µs for 65,537 entries), so changed entries alone could not
   * be written for less. Returns how many entries the write changed in that slot.
   */
  writeRing(serviceId: number, kind: number, ring: Uint32Array): number {
    if (serviceId < 0 || serviceId >= this.ringServices || ring.length !== this.state.config.ringSize)
      throw new AnycastdError(
        'ERR_INVALID_ARGUMENT',
        `ring for service ${serviceId}: bad id (rings for ${this.ringServices} services) or length`,
      );
    const active = [...(this.state.services.get(serviceId) ?? new Array<number>(L.RING_KINDS).fill(0))];
    const current = active[kind] ?? 0;
    const pair = kind * 2; // each kind owns slots (2k, 2k+1): active and spare
    // The kind's live slot is `current` only once this kind has been written; until then write `pair`.
    const written =
      (current === pair || current === pair + 1) && this.state.rings.has(serviceId * L.RING_SLOTS + current);
    const spare = written ? (current === pair ? pair + 1 : pair) : pair;
    const before = this.state.rings.get(serviceId * L.RING_SLOTS + spare);
    const changed = before ? differing(before, ring) : ring.length;
    if (changed === 0) {
      active[kind] = spare;
      this.#maps.services.update(u32key(serviceId), L.encodeService(active));
      this.state.services.set(serviceId, active);
      return 0;
    }
    if (!written) {
      // The kind's other slot is read as the previous ring (the second chance's last resort, rings.h):
      // a ring never written must name no instance, not slot 0 (an array entry is zeros).
      const none = new Uint32Array(ring.length).fill(L.INSTANCE_NONE);
      this.#maps.rings.update(u32key(serviceId * L.RING_SLOTS + pair + 1), L.encodeRing(none));
      this.state.rings.set(serviceId * L.RING_SLOTS + pair + 1, none);
    }
    this.#maps.rings.update(u32key(serviceId * L.RING_SLOTS + spare), L.encodeRing(ring));
    this.state.rings.set(serviceId * L.RING_SLOTS + spare, ring);
    active[kind] = spare;
    this.#maps.services.update(u32key(serviceId), L.encodeService(active));
    this.state.services.set(serviceId, active);
    return changed;
  }

  /** Services the rings map has room for (service ids below it have rings; set at load). */
  get ringServices(): number {
    return L.ringServicesIn(this.#maps.rings.maxEntries);
  }

  /** What the other slot of (service, kind) holds: the ring before the active one, if it was written. */
  spareRing(serviceId: number, kind: number): Uint32Array | undefined {
    const current = this.state.services.get(serviceId)?.[kind];
    const pair = kind * 2;
    if (current !== pair && current !== pair + 1) return undefined;
    if (!this.state.rings.has(serviceId * L.RING_SLOTS + current)) return undefined;
    return this.state.rings.get(serviceId * L.RING_SLOTS + (current === pair ? pair + 1 : pair));
  }

  vipStats(vipId: number): L.VipStats {
    return L.sumVipStats(this.#maps.vip_stats.lookupPerCpu(u32key(vipId)));
  }

  globalStats(): L.GlobalStats {
    return L.sumGlobalStats(this.#maps.global_stats.lookupPerCpu(u32key(0)));
  }

  /** Zeroes every counter (tests). */
  resetStats(): void {
    const n = possibleCpus();
    const zero = (m: BpfMap, k: number): void =>
      m.update(u32key(k), Buffer.alloc(n * Math.ceil(m.valueSize / 8) * 8));
    zero(this.#maps.global_stats, 0);
    for (const v of this.state.vips) zero(this.#maps.vip_stats, v.vipId);
  }

  /** The flow table as the kernel holds it: key hex → instance slot. */
  readFlows(): Map<string, number> {
    return readFlows(this.#maps.flows);
  }

  /** After adopting pinned maps: the mirror and the slot tables from what they hold. */
  #adopt(a: Adopted): void {
    Object.assign(this.state, { vips: a.vips, services: a.services, rings: a.rings, instances: a.instances });
    this.state.flows = a.flows;
    this.#vipPlaced = { slots: a.vipSlots, spilled: a.vipSpilled };
    this.#vipImage = a.vipImage;
    this.#vipFilter = a.vipFilter;
    for (const [k, v] of a.instanceSlots) this.#instanceSlots.set(k, v);
  }

  /** Records that this agent is alive (CLOCK_MONOTONIC, read back by the next agent as pinsAgeMs). */
  heartbeat(): void {
    const v = Buffer.alloc(L.LAYOUTS.agent_beat.size);
    v.writeBigUInt64LE(process.hrtime.bigint(), L.LAYOUTS.agent_beat.fields.alive_ns);
    this.#maps.agent_beat.update(u32key(0), v);
  }

  #beatAgeMs(): number | null {
    const alive = this.#maps.agent_beat
      .lookup(u32key(0))
      ?.readBigUInt64LE(L.LAYOUTS.agent_beat.fields.alive_ns);
    if (!alive) return null;
    return Number(process.hrtime.bigint() - alive) / 1e6;
  }

  /**
   * Forgets one flow (an encoded flow_key; its connection ended on this host): its flow-table entry, and
   * the flow_cache slot it would sit in on every CPU (zeroed: whatever flow is cached there is read from
   * the flow table again). Whether there was an entry.
   */
  forgetFlow(key: Buffer): boolean {
    const had = this.#maps.flows.delete(key);
    this.#cache.update(cacheSlotKey(key), Buffer.alloc(this.#cache.storedValueSize));
    this.state.flows.delete(key.toString('hex'));
    return had;
  }

  /** What each CPU's flow_cache holds in the slot of `key` (flow_cache_entry values; diagnostics, tests). */
  flowCacheSlot(key: Buffer): Buffer[] {
    return this.#cache.lookupPerCpu(cacheSlotKey(key));
  }

  /** Empties the flow table, and every CPU's flow_cache with it (a new cache generation). */
  clearFlows(): void {
    for (const k of this.#maps.flows.keys()) this.#maps.flows.delete(k);
    this.#newCacheGeneration();
    this.state.flows.clear();
  }

  /** Empties every CPU's flow_cache (the program ignores entries of an older generation). */
  #newCacheGeneration(): void {
    const ctl = this.#ctl.lookup(u32key(0))!;
    const at = L.LAYOUTS.ctl.fields.flow_gen;
    ctl.writeUInt32LE((ctl.readUInt32LE(at) + 1) >>> 0, at);
    this.#ctl.update(u32key(0), ctl);
  }

  /**
   * Attaches the program on an interface, atomically replacing whatever program is attached there in
   * `mode` (XDP_FLAGS_REPLACE naming it: a program swapped in meanwhile makes this fail, EEXIST).
   */
  replaceOn(ifindex: number, mode: XdpMode = 'native'): void {
    replaceXdp(ifindex, this.program.fd, mode);
  }

  /** Attaches (or atomically replaces, with replaceFd) the program on an interface. */
  attach(ifindex: number, mode: XdpMode = 'native', replaceFd?: number): void {
    attachXdp(ifindex, this.program.fd, replaceFd === undefined ? { mode } : { mode, replaceFd });
  }

  detach(ifindex: number, mode: XdpMode = 'native'): void {
    detachXdp(ifindex, { mode, expectedFd: this.program.fd });
  }

  close(): void {
    for (const m of this.#upgrade?.old.values() ?? []) m.close();
    this.#upgrade = null;
    this.#obj.close();
  }
}

/** Whether an instance entry as mirrored already holds `inst`. */
function sameInstance(had: L.Instance | undefined, inst: L.Instance): boolean {
  return (
    had !== undefined &&
    had.flags === inst.flags &&
    had.host4.equals(inst.host4) &&
    had.host6.equals(inst.host6)
  );
}

/** Entries that differ between two rings of one length. */
function differing(a: Uint32Array, b: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

interface Pins {
  plan: PinPlan;
  object: ObjectLayout;
}

interface Upgrade {
  pinDir: string;
  old: Map<string, BpfMap>; // migrated map name → the old pinned map
  stale: string[];
  version: number;
}

/** The object's layout version and the oldest it migrates from (rodata, bpf/steer.h). */
function objectLayout(obj: BpfObject): ObjectLayout {
  const read = (name: string): number => {
    const v = obj.readRodata(name);
    if (!v) throw new AnycastdError('ERR_BPF_OBJECT', `${obj.path}: no ${name}: not a steering object`);
    return v.readUInt32LE(0);
  };
  return { version: read('layout_version'), compat: read('layout_compat') };
}

/** The maps pinned in `pinDir` (a leftover `_swap` pin of an unfinished swap is skipped) and their version. */
/**
 * Files the kernel itself puts at the root of every new bpffs mount (bpf_preload's iterators, with
 * CONFIG_BPF_PRELOAD): not pinned maps, so never part of a pinned layout.
 */
const KERNEL_PRELOAD_FILES = new Set(['maps.debug', 'progs.debug']);

function readPins(pinDir: string): { shapes: Map<string, MapShape>; version: number | null } {
  const shapes = new Map<string, MapShape>();
  for (const name of readdirSync(pinDir)) {
    if (name.endsWith(NEXT_PIN_SUFFIX) || KERNEL_PRELOAD_FILES.has(name) || LINK_PINS.has(name)) continue;
    const m = BpfMap.openPinned(join(pinDir, name));
    try {
      shapes.set(name, {
        type: m.type,
        keySize: m.keySize,
        valueSize: m.valueSize,
        maxEntries: m.maxEntries,
      });
    } finally {
      m.close();
    }
  }
  let version: number | null = null;
  if (shapes.has('pin_layout')) {
    const m = BpfMap.openPinned(join(pinDir, 'pin_layout'));
    try {
      // 0: made but never written (a start that ended before it): taken as the oldest layout
      version = m.lookup(u32key(0))?.readUInt32LE(L.LAYOUTS.pin_layout.fields.version) || UNVERSIONED_LAYOUT;
    } finally {
      m.close();
    }
  }
  return { shapes, version };
}

/** Pins `map` at `path`, first removing a pin left there by a start that did not finish. */
function pinAt(map: BpfMap, path: string): void {
  if (existsSync(path)) rmSync(path);
  map.pin(path);
}

/** Loads `obj`; a flow table the kernel refuses (memory: ENOMEM, size: E2BIG) is named with what it needs. */
function loadSized(obj: BpfObject, flowTableSize: number, ringServices: number, ringSize: number): void {
  try {
    obj.load();
  } catch (err) {
    if (!(err instanceof SystemError) || (err.code !== 'ENOMEM' && err.code !== 'E2BIG')) throw err;
    const mib = (L.flowTableBytes(flowTableSize) / 2 ** 20).toFixed(0);
    const ringMib = (L.ringsBytes(ringServices, ringSize) / 2 ** 20).toFixed(0);
    throw new AnycastdError(
      'ERR_FLOW_TABLE',
      `the kernel refused the flow table of ${flowTableSize} entries (~${mib} MiB of kernel memory, ` +
        `${L.FLOW_ENTRY_BYTES} B per entry) and rings for ${ringServices} services of ${ringSize} entries ` +
        `(~${ringMib} MiB) with ${err.code}: lower dataplane.flow_table_size, ring_size or max_services, or raise ` +
        `the agent's memory limit (\`anycastd check\` compares it with this host's)`,
      { cause: err },
    );
  }
}
