// The data-plane part of a metrics scrape, read from a real Dataplane: each VIP's per-CPU counters
// summed (the kernel's monotonic values), the global counters, the flow table's entry count against its
// capacity, and the XDP attachments the caller reports.
//
// Counting the flow table reads it with BPF_MAP_LOOKUP_BATCH, 4096 entries per call (BpfMap.count):
// ~40 ms for 100k flows here, against ~280 ms for the key walk (one BPF_MAP_GET_NEXT_KEY per entry). The
// cost is the kernel's (~0.4 µs per entry, every bucket visited), and still blocks the event loop, so the
// count is refreshed at most every FLOW_COUNT_INTERVAL_MS and reused by the scrapes in between.
import type { Dataplane } from '../steer/dataplane.js';
import type { DataplaneMetrics, VipLabels, XdpAttachment } from './sources.js';

export const FLOW_COUNT_INTERVAL_MS = 10_000;

/** A VIP's labels and the index of its counters in vip_stats (the agent's VipSpec.vipId). */
export interface CountedVip extends VipLabels {
  vipId: number;
}

type DataplaneReader = Pick<Dataplane, 'vipStats' | 'globalStats' | 'map'>;

const flowCounts = new WeakMap<DataplaneReader, { entries: number; at: number }>();

/** Entries in the flow table, counted again only when the last count is older than `maxAgeMs`. */
export function flowEntries(
  dp: DataplaneReader,
  maxAgeMs: number = FLOW_COUNT_INTERVAL_MS,
  now = performance.now(),
): number {
  const last = flowCounts.get(dp);
  if (last && now - last.at < maxAgeMs) return last.entries;
  const entries = dp.map('flows').count();
  flowCounts.set(dp, { entries, at: now });
  return entries;
}

export function readDataplaneMetrics(
  dp: DataplaneReader,
  vips: readonly CountedVip[],
  xdp: readonly XdpAttachment[] = [],
  flowCountMaxAgeMs: number = FLOW_COUNT_INTERVAL_MS,
): DataplaneMetrics {
  return {
    vips: vips.map(({ vipId, ...labels }) => ({ labels, stats: dp.vipStats(vipId) })),
    global: dp.globalStats(),
    flows: { entries: flowEntries(dp, flowCountMaxAgeMs), capacity: dp.map('flows').maxEntries },
    xdp,
  };
}
