// Read-only views of a Dataplane for the control API, for the agent to return as they are: the share of
// each Maglev ring (new, established) every instance owns, and the flows of one VIP in the kernel's flow
// table with the instance each is pinned to, read in chunks that give the event loop back between them.
// Instance slots are named through the instance_ids map.
import { formatIp } from '../netlink/ip.js';
import { addr16, familyOf } from '../steer/addr.js';
import type { Dataplane } from '../steer/dataplane.js';
import { streamFlowTable } from '../steer/flow-stream.js';
import {
  decodeFlowKey,
  decodeFlowVal,
  FAMILY_V4,
  INSTANCE_NONE,
  LAYOUTS,
  RING_KIND_ESTABLISHED,
  RING_KIND_NEW,
  RING_SLOTS,
} from '../steer/layout.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../steer/proto.js';
import type { FlowInfo, FlowsInfo, RingInfo } from './types.js';

export const RING_KIND_NAMES: Readonly<Record<number, string>> = {
  [RING_KIND_NEW]: 'new',
  [RING_KIND_ESTABLISHED]: 'established',
};
export const DEFAULT_FLOW_LIMIT = 1000;
const IPV4_BYTES = 4;
const FLOW_DST = LAYOUTS.flow_key.fields.dst;
const PROTOCOL_NAMES: Readonly<Record<number, string>> = { [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp' };

type DataplaneView = Pick<Dataplane, 'state' | 'map'>;

/** The id stored for an instance slot ("" for an unused slot). */
export function instanceName(dp: Pick<Dataplane, 'map'>, slot: number): string {
  const raw = dp.map('instance_ids').lookup(Buffer.from(new Uint32Array([slot]).buffer));
  if (!raw) return '';
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString();
}

/** Each written ring of a service (the active one of each kind) with every instance's entries and share. */
export function ringsOf(dp: DataplaneView, serviceId: number, service: string): RingInfo[] {
  const active = dp.state.services.get(serviceId);
  if (!active) return [];
  const out: RingInfo[] = [];
  for (const [kind, name] of Object.entries(RING_KIND_NAMES)) {
    const slot = active[Number(kind)]!;
    // a kind never written still points at slot 0, which is the `new` ring's
    if (Number(kind) !== RING_KIND_NEW && slot === active[RING_KIND_NEW]) continue;
    const ring = dp.state.rings.get(serviceId * RING_SLOTS + slot);
    if (!ring) continue;
    const counts = new Map<number, number>();
    for (const slot of ring) if (slot !== INSTANCE_NONE) counts.set(slot, (counts.get(slot) ?? 0) + 1);
    const shares = [...counts]
      .map(([slot, entries]) => ({ instance: instanceName(dp, slot), entries, share: entries / ring.length }))
      .sort((a, b) => a.instance.localeCompare(b.instance));
    out.push({ service, kind: name, size: ring.length, shares });
  }
  return out;
}

/**
 * The flows whose destination is `vip` in the kernel's flow table, at most `limit` of them, with the
 * count of all of them. The table is read in chunks (streamFlowTable: BPF_MAP_LOOKUP_BATCH, the loop
 * given back between chunks), so a full table never holds the agent's event loop for more than one
 * chunk (~2–4 ms here); memory stays at one chunk plus `limit` flows. Each instance slot's name is
 * looked up once. Entries added or removed during the walk are seen at most once.
 */
export async function flowsOf(
  dp: DataplaneView,
  vip: string,
  limit: number = DEFAULT_FLOW_LIMIT,
): Promise<FlowsInfo> {
  const want = addr16(vip);
  const v4 = familyOf(vip) === 4;
  const flows: FlowInfo[] = [];
  const names = new Map<number, string>();
  const nameOf = (slot: number): string => {
    const known = names.get(slot);
    if (known !== undefined) return known;
    const name = instanceName(dp, slot);
    names.set(slot, name);
    return name;
  };
  const map = dp.map('flows');
  const ks = map.keySize;
  const vs = map.storedValueSize;
  let total = 0;
  await streamFlowTable(map, (c) => {
    for (let i = 0; i < c.count; i++) {
      const at = i * ks + FLOW_DST;
      if (c.keys.compare(want, 0, want.length, at, at + want.length) !== 0) continue; // before decoding
      const k = decodeFlowKey(c.keys.subarray(i * ks, (i + 1) * ks));
      if ((k.family === FAMILY_V4) !== v4) continue;
      total++;
      if (flows.length >= limit) continue;
      const text = (b: Buffer): string => formatIp(v4 ? b.subarray(0, IPV4_BYTES) : b);
      flows.push({
        source: text(k.src),
        sourcePort: k.sport,
        destination: text(k.dst),
        destinationPort: k.dport,
        protocol: PROTOCOL_NAMES[k.proto] ?? String(k.proto),
        instance: nameOf(decodeFlowVal(c.values.subarray(i * vs, (i + 1) * vs)).instance),
      });
    }
  });
  return { vip, total, flows };
}
