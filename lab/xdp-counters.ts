// A lab host's XDP counters, read from the maps its agent pinned (lab/agents.ts): packets to a VIP
// that arrived on its uplinks, how many it passed to its own kernel, forwarded (encapsulated) to another
// host, and decapsulated for itself; the second chance's outcomes, stale sockets and drops; summed over
// every VIP and CPU; and the flow-table hits, misses and untrusted (stale) hits.

import { join } from 'node:path';
import { BpfMap } from '../src/native/map.js';
import { MAX_VIPS, sumGlobalStats, sumVipStats } from '../src/steer/layout.js';

export interface XdpCounters {
  packets: number;
  local: number;
  forwarded: number;
  decap: number;
  scForwarded: number;
  scUsed: number;
  scSocket: number;
  scNone: number;
  scStale: number;
  dropped: number;
  flowHit: number;
  flowMiss: number;
  staleFlow: number;
}

const key = (n: number): Buffer => Buffer.from(new Uint32Array([n]).buffer);

const ZERO: XdpCounters = {
  packets: 0,
  local: 0,
  forwarded: 0,
  decap: 0,
  scForwarded: 0,
  scUsed: 0,
  scSocket: 0,
  scNone: 0,
  scStale: 0,
  dropped: 0,
  flowHit: 0,
  flowMiss: 0,
  staleFlow: 0,
};

/** The counters in the pin directory `pins` (all zero if the agent has not pinned them yet). */
export function readXdpCounters(pins: string): XdpCounters {
  const out = { ...ZERO };
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
      out.scForwarded += Number(s.sc_forwarded);
      out.scUsed += Number(s.sc_used);
      out.scSocket += Number(s.sc_socket);
      out.scNone += Number(s.sc_none);
      out.scStale += Number(s.sc_stale);
      for (const n of Object.values(s.drops)) out.dropped += Number(n);
    }
    const g = sumGlobalStats(global.lookupPerCpu(key(0)));
    out.flowHit = Number(g.flow_hit);
    out.flowMiss = Number(g.flow_miss);
    out.staleFlow = Number(g.stale_flow);
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
  const out = { ...ZERO };
  for (const k of Object.keys(ZERO) as (keyof XdpCounters)[]) out[k] = b[k] - a[k];
  return out;
}
