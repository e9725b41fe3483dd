// VIP table of the steering program: the entries a set of VIPs needs (exact port, any port, and the
// port-0 "fragment" entry that lets port-less IP fragments find a port VIP), and their placement in the
// open-addressed vip_table: the program probes up to VIP_PROBES slots from hash_vip_key and stops at an
// empty one, so a removed entry becomes a tombstone (never an empty slot) and a new entry takes the
// first slot of its sequence that holds no live entry.
import { AnycastdError } from '../errors.js';
import { addr16, familyOf } from './addr.js';
import { hashVipKey } from './hash.js';
import {
  encodeVipKey,
  FAMILY_V4,
  FAMILY_V6,
  MAX_SERVICES,
  MAX_VIPS,
  VIP_F_ANY_PORT,
  VIP_F_FRAG,
  VIP_F_USED,
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

/** The probe sequence of a key. */
export function vipProbeSlots(k: VipKey): number[] {
  const h = hashVipKey(encodeVipKey(k));
  return Array.from({ length: VIP_PROBES }, (_, i) => (h + i) & (VIP_SLOTS - 1));
}

/**
 * Places `entries`: an entry keeps the slot it has in `current` (key hex → slot); a new one takes the
 * first slot of its probe sequence that no live entry keeps. Returns key hex → slot.
 */
export function placeVips(
  entries: readonly VipEntry[],
  current: ReadonlyMap<string, number>,
): Map<string, number> {
  const placed = new Map<string, number>();
  const used = new Set<number>();
  for (const e of entries) {
    const hex = vipKeyHex(e.key);
    const slot = current.get(hex);
    if (slot !== undefined) {
      placed.set(hex, slot);
      used.add(slot);
    }
  }
  for (const e of entries) {
    const hex = vipKeyHex(e.key);
    if (placed.has(hex)) continue;
    const slot = vipProbeSlots(e.key).find((s) => !used.has(s));
    if (slot === undefined)
      throw new AnycastdError('ERR_INVALID_ARGUMENT', `vip table: no free slot among ${VIP_PROBES} probes`);
    placed.set(hex, slot);
    used.add(slot);
  }
  return placed;
}
