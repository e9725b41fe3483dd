// Adopting pinned maps when the agent restarts (which pins are adopted: pin-plan.ts): what the adopted maps hold — VIPs and their table slots, services
// and their active rings, instances and their ids, flows — so the control side's mirror matches them.
import type { BpfMap } from '../native/index.js';
import type { Instance, VipEntry } from './layout.js';
import * as L from './layout.js';
import { vipKeyHex } from './vips.js';

export interface Adopted {
  vips: VipEntry[];
  vipSlots: Map<string, number>; // vip key hex → vip_table slot
  vipSpilled: Set<string>; // vip key hex of the entries in vip_spill
  vipImage: Map<number, Buffer>; // vip_table slots that are not all zero
  vipFilter: Map<number, bigint>; // vip_filter words that are not zero
  services: Map<number, readonly number[]>;
  rings: Map<number, Uint32Array>; // the active `new` ring of each service in use
  instances: Map<number, Instance>;
  instanceSlots: Map<string, number>; // instance id → slot
  flows: Map<string, number>;
}

export function u32key(n: number): Buffer {
  return Buffer.from(new Uint32Array([n]).buffer);
}

/** The flow table: key hex → instance slot, read with batch lookups (BpfMap.entries). */
export function readFlows(flows: BpfMap): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of flows.entries()) out.set(k.toString('hex'), L.decodeFlowVal(v).instance);
  return out;
}

/** Everything the adopted maps hold (`map(name)` gives each one). */
export function readMaps(map: (name: string) => BpfMap, ringSize: number): Adopted {
  const get = (name: string, key: number): Buffer => map(name).lookup(u32key(key))!;
  const a: Adopted = {
    vips: [],
    vipSlots: new Map(),
    vipSpilled: new Set(),
    vipImage: new Map(),
    vipFilter: new Map(),
    services: new Map(),
    rings: new Map(),
    instances: new Map(),
    instanceSlots: new Map(),
    flows: readFlows(map('flows')),
  };
  for (const [k, v] of map('vip_table').entries()) {
    if (v.every((b) => b === 0)) continue;
    const slot = k.readUInt32LE(0);
    a.vipImage.set(slot, Buffer.from(v));
    const e = L.decodeVipEntry(v);
    if (!(e.flags & L.VIP_F_USED)) continue;
    a.vips.push(e);
    a.vipSlots.set(vipKeyHex(e.key), slot);
  }
  for (const [, v] of map('vip_spill').entries()) {
    const e = L.decodeVipEntry(v);
    a.vips.push(e);
    a.vipSpilled.add(vipKeyHex(e.key));
  }
  for (const [k, v] of map('vip_filter').entries()) {
    const bits = v.readBigUInt64LE(0);
    if (bits !== 0n) a.vipFilter.set(k.readUInt32LE(0), bits);
  }
  const ringServices = L.ringServicesIn(map('rings').maxEntries);
  for (let s = 0; s < ringServices; s++) {
    const active = L.decodeService(get('services', s));
    const rk = s * L.RING_SLOTS + (active[L.RING_KIND_NEW]! & (L.RING_SLOTS - 1));
    const raw = get('rings', rk);
    const ring = new Uint32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + 4 * ringSize));
    if (ring.some((x) => x !== 0)) {
      a.services.set(s, active);
      a.rings.set(rk, ring);
    }
  }
  for (let slot = 0; slot < L.MAX_INSTANCES; slot++) {
    const inst = L.decodeInstance(get('instances', slot));
    if (inst.flags !== 0) a.instances.set(slot, inst);
    const id = get('instance_ids', slot);
    const len = id.indexOf(0);
    if (len !== 0) a.instanceSlots.set(id.subarray(0, len < 0 ? id.length : len).toString(), slot);
  }
  return a;
}
