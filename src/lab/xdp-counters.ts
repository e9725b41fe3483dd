// A lab host's XDP counters, read from the maps its agent pinned (src/lab/agents.ts): packets to a VIP
// that arrived on its uplinks, how many it passed to its own kernel, forwarded (encapsulated) to another
// host, and decapsulated for itself, summed over every VIP and CPU; and the flow-table hits and misses.

import { join } from 'node:path';
import { BpfMap } from '../native/map.js';
import { MAX_VIPS, sumGlobalStats, sumVipStats } from '../steer/layout.js';

export interface XdpCounters {
  packets: number;
  local: number;
  forwarded: number;
  decap: number;
  flowHit: number;
  flowMiss: number;
}

const key = (n: number): Buffer => Buffer.from(new Uint32Array([n]).buffer);

/** The counters in the pin directory `pins` (all zero if the agent has not pinned them yet). */
export function readXdpCounters(pins: string): XdpCounters {
  const out: XdpCounters = { packets: 0, local: 0, forwarded: 0, decap: 0, flowHit: 0, flowMiss: 0 };
  let vipStats: BpfMap | undefined;
  let global: BpfMap | undefined;
  try {
    vipStats = BpfMap.openPinned(join(pins, 'vip_stats'));
    global = BpfMap.openPinned(join(pins, 'global_stats'));
    for (let id = 0; id < MAX_VIPS; id++) {
      const s = sumVipStats(vipStats.lookupPerCpu(key(id)));
      out.packets += Number(s.packets);
      out.local += Number(s.local);
      out.forwarded += Number(s.forwarded);
      out.decap += Number(s.decap);
    }
    const g = sumGlobalStats(global.lookupPerCpu(key(0)));
    out.flowHit = Number(g.flow_hit);
    out.flowMiss = Number(g.flow_miss);
  } catch {
    // not pinned yet: zeros
  } finally {
    vipStats?.close();
    global?.close();
  }
  return out;
}

/** b − a, field by field. */
export function counterDelta(a: XdpCounters, b: XdpCounters): XdpCounters {
  return {
    packets: b.packets - a.packets,
    local: b.local - a.local,
    forwarded: b.forwarded - a.forwarded,
    decap: b.decap - a.decap,
    flowHit: b.flowHit - a.flowHit,
    flowMiss: b.flowMiss - a.flowMiss,
  };
}
