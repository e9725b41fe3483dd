// VIP table of the steering program: the entries a set of VIPs needs (exact port, any port, and the
// port-0 "fragment" entry that lets port-less IP fragments find a port VIP), and their placement in the
// open-addressed vip_table (VIP_PROBES slots from hash(vip_key), as steer.bpf.c probes them).
import { AnycastdError } from '../errors.js';
import { addr16, familyOf } from './addr.js';
import { hashWords } from './hash.js';
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
  VIP_TABLE_SEED,
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
  const h = hashWords(encodeVipKey(k), VIP_TABLE_SEED);
  return Array.from({ length: VIP_PROBES }, (_, i) => (h + i) & (VIP_SLOTS - 1));
}

/**
 * Places `entries` in the table: an entry keeps the slot it has in `current` (key hex → slot), new ones
 * take the first free slot of their probe sequence. Returns key hex → slot.
 */
export function placeVips(
  entries: readonly VipEntry[],
  current: ReadonlyMap<string, number>,
): Map<string, number> {
  const placed = new Map<string, number>();
  const used = new Set<number>();
  const wanted = new Set(entries.map((e) => vipKeyHex(e.key)));
  for (const [hex, slot] of current) {
    if (wanted.has(hex)) {
      placed.set(hex, slot);
      used.add(slot);
    }
  }
  for (const e of entries) {
    const hex = vipKeyHex(e.key);
    if (placed.has(hex)) continue;
    const slot = vipProbeSlots(e.key).find((s) => !used.has(s) && ![...current.values()].includes(s));
    const fallback = slot ?? vipProbeSlots(e.key).find((s) => !used.has(s));
    if (fallback === undefined)
      throw new AnycastdError('ERR_INVALID_ARGUMENT', `vip table: no free slot among ${VIP_PROBES} probes`);
    placed.set(hex, fallback);
    used.add(fallback);
  }
  return placed;
}
