// The data-plane part of a metrics scrape, read from a real Dataplane: each VIP's per-CPU counters
// summed (the kernel's monotonic values), the global counters, the flow table's entry count against its
// capacity, and the XDP attachments the caller reports.
//
// Counting the flow table reads it with BPF_MAP_LOOKUP_BATCH, 4096 entries per call (~0.4 µs per entry
// in the kernel: ~40 ms for 100k flows, ~0.4 s for a million). The first count of a process is made in the
// scrape; later ones run in the background chunk by chunk with the event loop given back between chunks
// (src/steer/flow-stream.ts), started by a scrape that finds the last count older than
// FLOW_COUNT_INTERVAL_MS, and read by the scrapes after it: a figure is at most the interval plus one
// count old.

import type { Dataplane } from '../steer/dataplane.js';
import { countFlowTable } from '../steer/flow-stream.js';
import type { DataplaneMetrics, VipLabels, XdpAttachment } from './sources.js';

export const FLOW_COUNT_INTERVAL_MS = 10_000;

/** A VIP's labels and the index of its counters in vip_stats (the agent's VipSpec.vipId). */
export interface CountedVip extends VipLabels {
  vipId: number;
}

type DataplaneReader = Pick<Dataplane, 'vipStats' | 'globalStats' | 'map'>;

interface FlowCount {
  entries: number;
  at: number;
  /** The background count under way, if any. */
  running: Promise<void> | null;
  /** What the last background count failed with, not yet reported. */
  error?: unknown;
}
const flowCounts = new WeakMap<DataplaneReader, FlowCount>();

/**
 * Entries in the flow table: the last count, a new one started in the background once it is older
 * than `maxAgeMs` (the first one counted here and now).
 */
export function flowEntries(
  dp: DataplaneReader,
  maxAgeMs: number = FLOW_COUNT_INTERVAL_MS,
  now = performance.now(),
): number {
  const last = flowCounts.get(dp);
  if (!last) {
    const entries = dp.map('flows').count();
    flowCounts.set(dp, { entries, at: now, running: null });
    return entries;
  }
  if (last.error !== undefined) {
    const err = last.error;
    delete last.error;
    throw err;
  }
  if (now - last.at >= maxAgeMs && !last.running) {
    last.running = countFlowTable(dp.map('flows'))
      .then(
        (entries) => {
          last.entries = entries;
          last.at = now;
        },
        (err: unknown) => {
          last.error = err; // thrown by the next scrape, as a count made there would have been
        },
      )
      .finally(() => {
        last.running = null;
      });
  }
  return last.entries;
}

/** Resolves once no background count of `dp`'s flow table is under way (tests). */
export async function flowCountSettled(dp: DataplaneReader): Promise<void> {
  await flowCounts.get(dp)?.running;
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
