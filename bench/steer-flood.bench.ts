// A SYN flood against the VIP while 1,000 connections are held, on the two-host veth lab
// (test/steer/flood-lab.ts): lab/syn-flood.py sends up to 200,000 spoofed SYNs for at most 20 s while
// legitimate clients open a new connection every 10 ms; with the flood guard on and off. Reported:
// held connections broken, the legitimate new connections' success rate during the flood, the flood's
// rate, A's misses / bypassed / recorded, and how many held connections' flow entries the flood left in
// A's table. The guard's rate is set below what the generator reaches on this machine (a raw socket in
// Python, every SYN received through a veth and a TCP stack on the same CPUs: a few thousand per second
// on a busy 2-core box, far below the default 125,000 per CPU), the table smaller than the flood.
import assert from 'node:assert/strict';
import { uniquePrefix } from '../lab/netns.js';
import { type FloodReport, floodScenario } from '../test/steer/flood-lab.js';
import type { BenchOutput } from './run.js';

const HELD = 1000;
const GUARD = 500;
const TABLE = 8192;

export async function run(): Promise<BenchOutput> {
  const runs: FloodReport[] = [];
  for (const guard of [GUARD, 0]) {
    runs.push(
      await floodScenario(uniquePrefix('steer-flood'), {
        held: HELD,
        syns: 200_000,
        seconds: 20,
        guard,
        table: TABLE,
        steadyEveryMs: 10,
        steadyCount: 1500,
      }),
    );
  }
  const lines = [
    `${HELD} held, up to 200,000 spoofed SYNs for ≤ 20 s, a new legitimate connection every 10 ms; A's flow table ${TABLE}:`,
    ...runs.map(
      (r) =>
        `  guard ${r.guard ? `${r.guard}/s per CPU` : 'off'}: broken ${r.broken}; new connections ${r.steady.attempts - r.steady.failures}/${r.steady.attempts} (${(100 * r.steady.successRate).toFixed(1)}%); ` +
        `flood ${r.flood.sent} SYNs in ${r.flood.elapsedMs} ms (${r.flood.perSecond}/s); A: misses ${r.missesA}, bypassed ${r.bypassA}, recorded ${r.recordedA}; ` +
        `held entries on A ${r.heldEntriesAfter}/${r.heldEntriesBefore} after the flood`,
    ),
  ];
  for (const r of runs) assert.equal(r.broken, 0, `guard ${r.guard}: broken ${JSON.stringify(r.reasons)}`);
  return { report: lines.join('\n'), data: { held: HELD, table: TABLE, runs } };
}
