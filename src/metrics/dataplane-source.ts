// The data-plane part of a metrics scrape, read from a real Dataplane: each VIP's per-CPU counters
// summed (the kernel's monotonic values), the global counters, the flow table's entry count against its
// capacity, and the XDP attachments the caller reports.
import type { Dataplane } from '../steer/dataplane.js';
import type { DataplaneMetrics, VipLabels, XdpAttachment } from './sources.js';

/** A VIP's labels and the index of its counters in vip_stats (the agent's VipSpec.vipId). */
export interface CountedVip extends VipLabels {
  vipId: number;
}

export function readDataplaneMetrics(
  dp: Pick<Dataplane, 'vipStats' | 'globalStats' | 'map'>,
  vips: readonly CountedVip[],
  xdp: readonly XdpAttachment[] = [],
): DataplaneMetrics {
  const flows = dp.map('flows');
  return {
    vips: vips.map(({ vipId, ...labels }) => ({ labels, stats: dp.vipStats(vipId) })),
    global: dp.globalStats(),
    flows: { entries: flows.keys().length, capacity: flows.maxEntries },
    xdp,
  };
}
