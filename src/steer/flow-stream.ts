// Walking the flow table without holding the event loop: BPF_MAP_LOOKUP_BATCH one chunk at a time
// (BpfMap.lookupBatch), the loop given back (setImmediate) between chunks, so timers, sockets and BGP
// keepalives run while a table of a million flows is listed or counted. A chunk of FLOW_STREAM_CHUNK
// entries costs ~0.4 µs each in the kernel, ~2 ms with its decoding here. Memory: one chunk at a time.
// Entries added or removed during the walk are seen at most once (the batch cursor is a bucket).

import { setImmediate as yieldLoop } from 'node:timers/promises';
import type { BpfMap, MapChunk } from '../native/index.js';

/** Entries per batch read: ~2 ms of the event loop per chunk. */
export const FLOW_STREAM_CHUNK = 4096;

/** Calls `each` with every chunk of `map` (buffers valid during the call only), yielding between chunks. */
export async function streamFlowTable(
  map: BpfMap,
  each: (chunk: MapChunk) => void,
  chunk: number = FLOW_STREAM_CHUNK,
): Promise<void> {
  for (const c of map.lookupBatch(chunk)) {
    each(c);
    await yieldLoop();
  }
}

/** Entries in `map`, counted chunk by chunk with the loop given back between chunks. */
export async function countFlowTable(map: BpfMap, chunk: number = FLOW_STREAM_CHUNK): Promise<number> {
  let n = 0;
  await streamFlowTable(
    map,
    (c) => {
      n += c.count;
    },
    chunk,
  );
  return n;
}
