// VIP table of the steering program: the entries a set of VIPs needs (exact port, any port, and the
// port-0 "fragment" entry that lets port-less IP fragments find a port VIP), and their placement in the
// open-addressed vip_table: the program probes up to VIP_PROBES slots from hash_vip_key and stops at an
// empty one, so a removed entry becomes a tombstone (never an empty slot) and a new entry takes the
// first slot of its sequence that holds no live entry. An entry whose sequence is all taken goes to the
// vip_spill hash map, read only behind a first slot marked VIP_F_SPILL: placing never fails below
// MAX_VIPS. vip_filter holds a bit per VIP address, so a packet to any other address stops before the
// table (bpf/README.md "VIP lookup").
import { AnycastdError } from '../errors.js';
import { addr16, familyOf } from './addr.js';
import { hashVipAddr, hashVipKey } from './hash.js';
import {
  encodeVipEntry,
  encodeVipKey,
  FAMILY_V4,
  FAMILY_V6,
  MAX_SERVICES,
  MAX_VIPS,
  VIP_F_ANY_PORT,
  VIP_F_FRAG,
  VIP_F_SPILL,
  VIP_F_TOMB,
  VIP_F_USED,
  VIP_FILTER_LOG,
  VIP_PROBES,
  VIP_SLOTS,
  type VipEntry,
  type VipKey,
} from './layout.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './proto.js';

export interface VipSpec {
  readonly vipId: number; // index of its counters, < MAX_VIPS
  readonly serviceId: number; // < MAX_SERVICES
  readonly addr: string; // IPv4 or IPv6 text
  readonly proto: 'tcp' | 'udp';
  readonly port: number; // 0 = any port
}

const PROTO = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP } as const;

export function vipKeyOf(addr: string, proto: number, port: number): VipKey {
  return { addr: addr16(addr), port, proto, family: familyOf(addr) === 4 ? FAMILY_V4 : FAMILY_V6 };
}

/** The port of an any-port VIP (its key and the VIP table entry). */
export const ANY_PORT = 0;

export const vipKeyHex = (k: VipKey): string => encodeVipKey(k).toString('hex');

/** The entries `specs` need: one per VIP, plus a fragment entry per (address, protocol) without an
 * any-port VIP (it points at the VIP with the lowest port, so all fragments go one deterministic way). */
export function vipEntries(specs: readonly VipSpec[]): VipEntry[] {
  if (specs.length > MAX_VIPS)
    throw new AnycastdError(
      'ERR_INVALID_ARGUMENT',
      `${specs.length} VIP/port entries: the data plane holds at most ${MAX_VIPS}`,
    );
  const out = new Map<string, VipEntry>();
  for (const s of specs) {
    if (s.vipId < 0 || s.vipId >= MAX_VIPS || s.serviceId < 0 || s.serviceId >= MAX_SERVICES)
      throw new AnycastdError('ERR_INVALID_ARGUMENT', `vip ${s.addr}: id or service out of range`);
    const key = vipKeyOf(s.addr, PROTO[s.proto], s.port);
    const hex = vipKeyHex(key);
    if (out.has(hex))
      throw new AnycastdError('ERR_INVALID_ARGUMENT', `vip ${s.addr} ${s.proto}/${s.port} twice`);
    const flags = VIP_F_USED | (s.port === 0 ? VIP_F_ANY_PORT : 0);
    out.set(hex, { key, vipId: s.vipId, serviceId: s.serviceId, flags });
  }
  const byPort = [...specs].sort((a, b) => a.port - b.port);
  for (const s of byPort) {
    const key = vipKeyOf(s.addr, PROTO[s.proto], 0);
    const hex = vipKeyHex(key);
    if (!out.has(hex))
      out.set(hex, { key, vipId: s.vipId, serviceId: s.serviceId, flags: VIP_F_USED | VIP_F_FRAG });
  }
  return [...out.values()];
}

/** The first slot of a key's probe sequence. */
export const vipHome = (k: VipKey): number => hashVipKey(encodeVipKey(k)) & (VIP_SLOTS - 1);

/** The probe sequence of a key. */
export function vipProbeSlots(k: VipKey): number[] {
  const h = vipHome(k);
  return Array.from({ length: VIP_PROBES }, (_, i) => (h + i) & (VIP_SLOTS - 1));
}

/** Where the entries of a VIP set sit: a vip_table slot each, or vip_spill. */
export interface VipPlacement {
  readonly slots: ReadonlyMap<string, number>; // key hex → vip_table slot
  readonly spilled: ReadonlySet<string>; // key hex of the entries held in vip_spill
}

export const NO_PLACEMENT: VipPlacement = { slots: new Map(), spilled: new Set() };

/**
 * Places `entries`: an entry keeps the slot it has in `current` if that slot is in its probe sequence;
 * any other takes the first slot of its sequence that no live entry keeps, and when all of them are
 * taken it goes to vip_spill (whose capacity is every entry's: placing never fails).
 */
export function placeVips(entries: readonly VipEntry[], current: VipPlacement): VipPlacement {
  const slots = new Map<string, number>();
  const spilled = new Set<string>();
  const used = new Uint8Array(VIP_SLOTS);
  const rest: [string, number][] = [];
  for (const e of entries) {
    const hex = vipKeyHex(e.key);
    const home = vipHome(e.key);
    const slot = current.slots.get(hex);
    if (slot !== undefined && !used[slot] && ((slot - home) & (VIP_SLOTS - 1)) < VIP_PROBES) {
      slots.set(hex, slot);
      used[slot] = 1;
    } else rest.push([hex, home]);
  }
  for (const [hex, home] of rest) {
    let i = 0;
    while (i < VIP_PROBES && used[(home + i) & (VIP_SLOTS - 1)]) i++;
    if (i === VIP_PROBES) spilled.add(hex);
    else {
      const slot = (home + i) & (VIP_SLOTS - 1);
      slots.set(hex, slot);
      used[slot] = 1;
    }
  }
  return { slots, spilled };
}

const TOMB: VipEntry = {
  key: { addr: Buffer.alloc(16), port: 0, proto: 0, family: 0 },
  vipId: 0,
  serviceId: 0,
  flags: VIP_F_TOMB,
};

/**
 * The vip_table content of a placement, given the content before (`before`, slot → encoded entry;
 * absent = all zero): each placed entry at its slot, a tombstone in every slot that held something and
 * holds no entry now (probing must go on past it), and VIP_F_SPILL on the first probe slot of every
 * spilled entry.
 */
export function vipTableImage(
  entries: readonly VipEntry[],
  placed: VipPlacement,
  before: ReadonlyMap<number, Buffer>,
): Map<number, Buffer> {
  const homes = new Set<number>();
  const byHex = new Map(entries.map((e) => [vipKeyHex(e.key), e]));
  for (const hex of placed.spilled) homes.add(vipHome(byHex.get(hex)!.key));
  const image = new Map<number, Buffer>();
  const put = (slot: number, e: VipEntry): void => {
    image.set(slot, encodeVipEntry({ ...e, flags: e.flags | (homes.has(slot) ? VIP_F_SPILL : 0) }));
  };
  for (const [hex, slot] of placed.slots) put(slot, byHex.get(hex)!);
  for (const slot of [...before.keys(), ...homes]) if (!image.has(slot)) put(slot, TOMB);
  return image;
}

/** vip_filter's words (index → bits) with the bit of every entry's address set. */
export function vipFilterWords(entries: readonly VipEntry[]): Map<number, bigint> {
  const words = new Map<number, bigint>();
  for (const e of entries) {
    const bit = hashVipAddr(e.key.addr) >>> (32 - VIP_FILTER_LOG);
    const w = bit >>> 6;
    words.set(w, (words.get(w) ?? 0n) | (1n << BigInt(bit & 63)));
  }
  return words;
}
