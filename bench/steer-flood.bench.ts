// A SYN flood against the VIP while 1,000 connections are held, on the two-host veth lab
// (test/steer/flood-lab.ts): build/lab/syn-flood (lab/syn-flood.c, sendmmsg on a raw socket) sends spoofed
// SYNs at FLOOD_RATE per second for FLOOD_SECONDS while legitimate clients open a new connection every
// 10 ms; with the flood guard at its default rate (dataplane.flood_guard, 125,000 new flows per CPU per
// second) and off. Reported: held connections broken, the legitimate new connections' success rate during
// the flood, the flood's rate, A's misses / bypassed / recorded, and how many held connections' flow
// entries the flood left in A's table. The rate is about what the lab's receiving side takes on this
// 2-core box (one veth, XDP, then a TCP stack answering every SYN with a cookie): offered faster (the
// generator alone reaches ~750k/s into a plain veth), the veth drops the rest before XDP sees it.
import assert from 'node:assert/strict';
import { uniquePrefix } from '../lab/netns.js';
import { DEFAULT_FLOOD_NEW_FLOWS } from '../src/config/schema.js';
import { type FloodReport, floodScenario } from '../test/steer/flood-lab.js';
import type { BenchOutput } from './run.js';

const HELD = 1000;
const GUARD = DEFAULT_FLOOD_NEW_FLOWS;
/** The flow table: the flood's new flows overrun it many times (LRU keeps the referenced entries). */
const TABLE = 65_536;
const FLOOD_RATE = 250_000;
const FLOOD_SECONDS = 8;
const STEADY_EVERY_MS = 10;
const STEADY_COUNT = 600; // 6 s, inside the flood

export async function run(): Promise<BenchOutput> {
  const runs: FloodReport[] = [];
  for (const guard of [GUARD, 0]) {
    runs.push(
      await floodScenario(uniquePrefix('steer-flood'), {
        held: HELD,
        syns: FLOOD_RATE * FLOOD_SECONDS,
        seconds: FLOOD_SECONDS,
        rate: FLOOD_RATE,
        guard,
        table: TABLE,
        steadyEveryMs: STEADY_EVERY_MS,
        steadyCount: STEADY_COUNT,
      }),
    );
  }
  const lines = [
    `${HELD} held, spoofed SYNs offered at ${FLOOD_RATE}/s for ${FLOOD_SECONDS} s, a new legitimate connection every ${STEADY_EVERY_MS} ms; A's flow table ${TABLE}:`,
    ...runs.map(
      (r) =>
        `  guard ${r.guard ? `${r.guard}/s per CPU` : 'off'}: broken ${r.broken}; new connections ${r.steady.attempts - r.steady.failures}/${r.steady.attempts} (${(100 * r.steady.successRate).toFixed(1)}%); ` +
        `flood ${r.flood.sent} SYNs in ${r.flood.elapsedMs} ms (${r.flood.perSecond}/s); A: misses ${r.missesA}, bypassed ${r.bypassA}, recorded ${r.recordedA}; ` +
        `held entries on A ${r.heldEntriesAfter}/${r.heldEntriesBefore} after the flood`,
    ),
  ];
  for (const r of runs) assert.equal(r.broken, 0, `guard ${r.guard}: broken ${JSON.stringify(r.reasons)}`);
  return {
    report: lines.join('\n'),
    data: { held: HELD, table: TABLE, floodRate: FLOOD_RATE, floodSeconds: FLOOD_SECONDS, runs },
  };
}
