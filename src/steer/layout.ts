// The kernel/user contract of the steering program: typed encoders/decoders for every map key and value
// of bpf/steer.h, its constants, and the state the control side writes (SteerState). Each struct has a
// descriptor {size, field offsets} that the encoders use and that test/steer/layout.root.test.ts
// checks against the BTF of build/bpf/steer.bpf.o, so a change on one side fails a test.
import { MAX_FLOW_TABLE, MIN_FLOW_TABLE } from '../config/flow-memory.js';

/** bpf/steer.h STEER_LAYOUT_VERSION: the pinned maps' layout (test/steer/layout.root.test.ts checks the object's). */
export const STEER_LAYOUT_VERSION = 2;
export const FAMILY_V4 = 4;
export const FAMILY_V6 = 6;
export const MAX_VIPS = 16384;
export const VIP_SLOTS = 65536;
export const VIP_PROBES = 16;
export const VIP_SPILL_MAX = 2 * MAX_VIPS;
export const VIP_FILTER_LOG = 20;
export const VIP_FILTER_WORDS = 2 ** (VIP_FILTER_LOG - 6);
export const MAX_SERVICES = 4096;
/** The rings map's room in services as the object declares it (Dataplane.open sizes it: ringServices). */
export const RING_SERVICES = 16;
export const RING_KINDS = 4;
export const RING_KIND_NEW = 0;
export const RING_KIND_ESTABLISHED = 1;
export const RING_SLOTS = 4;
/** The services a rings map of `maxEntries` has room for (RING_SLOTS each), at most MAX_SERVICES. */
export const ringServicesIn = (maxEntries: number): number =>
  Math.min(MAX_SERVICES, Math.floor(maxEntries / RING_SLOTS));
export const RING_SIZE_MAX = 65537;
export const MAX_INSTANCES = 4096;
/** The flow table's entries when none is given (the object's declared size; the config's default is larger). */
export const MAX_FLOWS = 131072;

export { FLOW_ENTRY_BYTES, flowTableBytes, MAX_FLOW_TABLE, MIN_FLOW_TABLE } from '../config/flow-memory.js';
export { ringServices, ringsBytes } from '../config/limits.js';

export const validFlowTableSize = (n: number): boolean =>
  Number.isInteger(n) && n >= MIN_FLOW_TABLE && n <= MAX_FLOW_TABLE;

export const INSTANCE_ID_LEN = 64;
export const FLOW_CACHE_SLOTS = 4096;
export const INSTANCE_NONE = 0xffffffff;
/** The flow-hash seed when none is given (rodata hash_seed's default: the same on every host). */
export const DEFAULT_HASH_SEED = 0x5eed1e55;

export const VIP_F_USED = 0x1;
export const VIP_F_ANY_PORT = 0x2;
export const VIP_F_FRAG = 0x4;
export const VIP_F_TOMB = 0x8;
export const VIP_F_SPILL = 0x10;
export const INSTANCE_F_VALID = 0x1;
export const INSTANCE_F_LOCAL = 0x2;
export const FLOW_F_ESTABLISHED = 0x1;
export const FLOW_F_SECOND = 0x2;
/** flow_val.flags: FLOW_F_* in the low byte, the last sequence number seen >> 8 above it (steer.h). */
export const FLOW_F_MASK = 0xff;
export const FLOW_SEQ_SHIFT = 8;
/** The second-chance mark on the outer header (steer.h): IPv4 identification, IPv6 flow-label bit. */
export const SECOND_CHANCE_ID4 = 0x5343;
export const SECOND_CHANCE_LABEL6 = 0x80000;
export const FLOW_LABEL_HASH_MASK = 0x7ffff;

/** Drop reasons, in the order of vip_stats.drops[]. */
export const DROP_REASONS = ['no-instance', 'no-address', 'adjust', 'icmp-too-big'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** A struct of steer.h: its size and each field's byte offset. */
export interface StructLayout {
  readonly size: number;
  readonly fields: Readonly<Record<string, number>>;
}

export const LAYOUTS = {
  vip_key: { size: 20, fields: { addr: 0, port: 16, proto: 18, family: 19 } },
  vip_entry: { size: 32, fields: { key: 0, vip_id: 20, service_id: 24, flags: 28 } },
  service: { size: 16, fields: { active: 0 } },
  ring: { size: 4 * RING_SIZE_MAX, fields: { inst: 0 } },
  instance: { size: 24, fields: { host4: 0, flags: 4, host6: 8 } },
  instance_id: { size: 64, fields: { id: 0 } },
  flow_key: { size: 40, fields: { src: 0, dst: 16, sport: 32, dport: 34, proto: 36, family: 37, pad: 38 } },
  flow_val: { size: 8, fields: { instance: 0, flags: 4 } },
  flow_cache_entry: { size: 56, fields: { key: 0, instance: 40, gen: 44, flags: 48, pad: 52 } },
  ctl: { size: 16, fields: { flow_gen: 0, reserved: 4 } },
  agent_beat: { size: 8, fields: { alive_ns: 0 } },
  pin_layout: { size: 16, fields: { version: 0, reserved: 4 } },
  vip_stats: {
    size: 128,
    fields: {
      packets: 0,
      bytes: 8,
      local: 16,
      forwarded: 24,
      decap: 32,
      too_big: 40,
      icmp_err: 48,
      sc_stale: 56,
      drops: 64,
      sc_forwarded: 96,
      sc_used: 104,
      sc_socket: 112,
      sc_none: 120,
    },
  },
  global_stats: {
    size: 64,
    fields: {
      parse_fail: 0,
      flow_hit: 8,
      flow_miss: 16,
      non_vip: 24,
      sk_lookup: 32,
      stale_flow: 40,
      flood_bypass: 48,
      reserved: 56,
    },
  },
  flood_window: { size: 16, fields: { start_ns: 0, count: 8 } },
} as const satisfies Record<string, StructLayout>;

const L = LAYOUTS;

const MAP_HASH = 1; // linux/bpf.h enum bpf_map_type
const MAP_ARRAY = 2;
const MAP_PERCPU_ARRAY = 6;
const MAP_LRU_HASH = 9;

/** Each map's kernel shape (maps.h): a pinned map of another shape cannot be adopted. */
export interface MapSpec {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
}

export const MAP_SPECS: Readonly<Record<string, MapSpec>> = {
  vip_table: { type: MAP_ARRAY, keySize: 4, valueSize: L.vip_entry.size, maxEntries: VIP_SLOTS },
  vip_spill: {
    type: MAP_HASH,
    keySize: L.vip_key.size,
    valueSize: L.vip_entry.size,
    maxEntries: VIP_SPILL_MAX,
  },
  vip_filter: { type: MAP_ARRAY, keySize: 4, valueSize: 8, maxEntries: VIP_FILTER_WORDS },
  services: { type: MAP_ARRAY, keySize: 4, valueSize: L.service.size, maxEntries: MAX_SERVICES },
  rings: { type: MAP_ARRAY, keySize: 4, valueSize: L.ring.size, maxEntries: RING_SERVICES * RING_SLOTS },
  instances: { type: MAP_ARRAY, keySize: 4, valueSize: L.instance.size, maxEntries: MAX_INSTANCES },
  instance_ids: { type: MAP_ARRAY, keySize: 4, valueSize: L.instance_id.size, maxEntries: MAX_INSTANCES },
  flows: { type: MAP_LRU_HASH, keySize: L.flow_key.size, valueSize: L.flow_val.size, maxEntries: MAX_FLOWS },
  flow_cache: {
    type: MAP_PERCPU_ARRAY,
    keySize: 4,
    valueSize: L.flow_cache_entry.size,
    maxEntries: FLOW_CACHE_SLOTS,
  },
  ctl: { type: MAP_ARRAY, keySize: 4, valueSize: L.ctl.size, maxEntries: 1 },
  flood_window: { type: MAP_PERCPU_ARRAY, keySize: 4, valueSize: L.flood_window.size, maxEntries: 1 },
  agent_beat: { type: MAP_ARRAY, keySize: 4, valueSize: L.agent_beat.size, maxEntries: 1 },
  pin_layout: { type: MAP_ARRAY, keySize: 4, valueSize: L.pin_layout.size, maxEntries: 1 },
  vip_stats: { type: MAP_PERCPU_ARRAY, keySize: 4, valueSize: L.vip_stats.size, maxEntries: MAX_VIPS },
  global_stats: { type: MAP_PERCPU_ARRAY, keySize: 4, valueSize: L.global_stats.size, maxEntries: 1 },
};

export interface VipKey {
  addr: Buffer; // 16 bytes, IPv4 in the first 4
  port: number; // host order; 0 = any port / fragment entry
  proto: number;
  family: number;
}
export interface VipEntry {
  key: VipKey;
  vipId: number;
  serviceId: number;
  flags: number;
}
export interface Instance {
  host4: Buffer; // 4 bytes, zero when the host has no IPv4 address
  host6: Buffer; // 16 bytes, zero when none
  flags: number;
}
export interface FlowKey {
  src: Buffer; // 16 bytes
  dst: Buffer; // 16 bytes
  sport: number;
  dport: number;
  proto: number;
  family: number;
}
export interface FlowVal {
  instance: number;
  flags: number;
}
/** Load-time tunables (the program's rodata). */
export interface SteerConfig {
  ringSize: number;
  hashSeed: number;
  mtu: number;
  host4: Buffer; // 4 bytes, zero = none
  host6: Buffer; // 16 bytes, zero = none
  recordSettled?: boolean; // rodata record_settled (default true); false: settled flows get no entry
}

/** What the maps hold, as the control side wrote it (Dataplane.state; the input of the model). */
export interface SteerState {
  config: SteerConfig;
  vips: VipEntry[];
  services: Map<number, readonly number[]>; // service id → active slot per ring kind
  rings: Map<number, Uint32Array>; // service * RING_SLOTS + slot → instance slots (ringSize long)
  instances: Map<number, Instance>;
  flows: Map<string, number>; // hex(flow_key) → instance slot
  /** hex(flow_key) → the last sequence number >> 8 its entry saw (flow_val.flags above FLOW_F_MASK);
   * the model keeps it for the entries it records. Absent for an entry: taken as near. */
  flowSeqs?: Map<string, number>;
}
export type VipStats = Record<Exclude<keyof typeof L.vip_stats.fields, 'drops' | 'reserved'>, bigint> & {
  drops: Record<DropReason, bigint>;
};
export type GlobalStats = Record<Exclude<keyof typeof L.global_stats.fields, 'reserved'>, bigint>;

export function encodeVipKey(k: VipKey, out = Buffer.alloc(L.vip_key.size), at = 0): Buffer {
  k.addr.copy(out, at + L.vip_key.fields.addr, 0, 16);
  out.writeUInt16BE(k.port, at + L.vip_key.fields.port);
  out.writeUInt8(k.proto, at + L.vip_key.fields.proto);
  out.writeUInt8(k.family, at + L.vip_key.fields.family);
  return out;
}

export function decodeVipKey(b: Buffer, at = 0): VipKey {
  const f = L.vip_key.fields;
  return {
    addr: Buffer.from(b.subarray(at + f.addr, at + f.addr + 16)),
    port: b.readUInt16BE(at + f.port),
    proto: b.readUInt8(at + f.proto),
    family: b.readUInt8(at + f.family),
  };
}

export function encodeVipEntry(e: VipEntry): Buffer {
  const f = L.vip_entry.fields;
  const out = Buffer.alloc(L.vip_entry.size);
  encodeVipKey(e.key, out, f.key);
  out.writeUInt32LE(e.vipId, f.vip_id);
  out.writeUInt32LE(e.serviceId, f.service_id);
  out.writeUInt32LE(e.flags, f.flags);
  return out;
}

export function decodeVipEntry(b: Buffer): VipEntry {
  const f = L.vip_entry.fields;
  return {
    key: decodeVipKey(b, f.key),
    vipId: b.readUInt32LE(f.vip_id),
    serviceId: b.readUInt32LE(f.service_id),
    flags: b.readUInt32LE(f.flags),
  };
}

export function encodeService(active: readonly number[]): Buffer {
  const out = Buffer.alloc(L.service.size);
  for (let k = 0; k < RING_KINDS; k++) out.writeUInt32LE(active[k] ?? 0, L.service.fields.active + 4 * k);
  return out;
}

export function decodeService(b: Buffer): number[] {
  return Array.from({ length: RING_KINDS }, (_, k) => b.readUInt32LE(L.service.fields.active + 4 * k));
}

/** A ring value of `entries` (the rings map's value is 4 × ring_size bytes): `slots`, the rest INSTANCE_NONE. */
export function encodeRing(slots: Uint32Array, entries = slots.length): Buffer {
  const all = new Uint32Array(entries).fill(INSTANCE_NONE);
  all.set(slots);
  return Buffer.from(all.buffer); // map values are host order, like every u32 here (LE on x86/arm64)
}

export function encodeInstance(i: Instance): Buffer {
  const f = L.instance.fields;
  const out = Buffer.alloc(L.instance.size);
  i.host4.copy(out, f.host4, 0, 4);
  out.writeUInt32LE(i.flags, f.flags);
  i.host6.copy(out, f.host6, 0, 16);
  return out;
}

export function decodeInstance(b: Buffer): Instance {
  const f = L.instance.fields;
  return {
    host4: Buffer.from(b.subarray(f.host4, f.host4 + 4)),
    flags: b.readUInt32LE(f.flags),
    host6: Buffer.from(b.subarray(f.host6, f.host6 + 16)),
  };
}

export function encodeFlowKey(k: FlowKey): Buffer {
  const f = L.flow_key.fields;
  const out = Buffer.alloc(L.flow_key.size);
  k.src.copy(out, f.src, 0, 16);
  k.dst.copy(out, f.dst, 0, 16);
  out.writeUInt16BE(k.sport, f.sport);
  out.writeUInt16BE(k.dport, f.dport);
  out.writeUInt8(k.proto, f.proto);
  out.writeUInt8(k.family, f.family);
  return out;
}

export function decodeFlowKey(b: Buffer): FlowKey {
  const f = L.flow_key.fields;
  return {
    src: Buffer.from(b.subarray(f.src, f.src + 16)),
    dst: Buffer.from(b.subarray(f.dst, f.dst + 16)),
    sport: b.readUInt16BE(f.sport),
    dport: b.readUInt16BE(f.dport),
    proto: b.readUInt8(f.proto),
    family: b.readUInt8(f.family),
  };
}

export function encodeFlowVal(v: FlowVal): Buffer {
  const out = Buffer.alloc(L.flow_val.size);
  out.writeUInt32LE(v.instance, L.flow_val.fields.instance);
  out.writeUInt32LE(v.flags, L.flow_val.fields.flags);
  return out;
}

export function decodeFlowVal(b: Buffer): FlowVal {
  return {
    instance: b.readUInt32LE(L.flow_val.fields.instance),
    flags: b.readUInt32LE(L.flow_val.fields.flags),
  };
}

/** Sums per-CPU vip_stats values. */
export function sumVipStats(perCpu: readonly Buffer[]): VipStats {
  const f = L.vip_stats.fields;
  const sum = (off: number): bigint => perCpu.reduce((acc, b) => acc + b.readBigUInt64LE(off), 0n);
  const drops = Object.fromEntries(DROP_REASONS.map((r, i) => [r, sum(f.drops + 8 * i)])) as Record<
    DropReason,
    bigint
  >;
  return {
    packets: sum(f.packets),
    bytes: sum(f.bytes),
    local: sum(f.local),
    forwarded: sum(f.forwarded),
    decap: sum(f.decap),
    too_big: sum(f.too_big),
    icmp_err: sum(f.icmp_err),
    drops,
    sc_forwarded: sum(f.sc_forwarded),
    sc_used: sum(f.sc_used),
    sc_socket: sum(f.sc_socket),
    sc_none: sum(f.sc_none),
    sc_stale: sum(f.sc_stale),
  };
}

/** Sums per-CPU global_stats values. */
export function sumGlobalStats(perCpu: readonly Buffer[]): GlobalStats {
  const f = L.global_stats.fields;
  const sum = (off: number): bigint => perCpu.reduce((acc, b) => acc + b.readBigUInt64LE(off), 0n);
  return {
    parse_fail: sum(f.parse_fail),
    flow_hit: sum(f.flow_hit),
    flow_miss: sum(f.flow_miss),
    non_vip: sum(f.non_vip),
    sk_lookup: sum(f.sk_lookup),
    stale_flow: sum(f.stale_flow),
    flood_bypass: sum(f.flood_bypass),
  };
}
