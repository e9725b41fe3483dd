// A SYN flood against the VIP on the two-host veth lab (veth-lab.ts) while connections are held, with the
// flood guard (steer_core.h flood_allows) on or off on the front host A:
//  1. rings new = established = {A, B} on both hosts (A passes its share, forwards B's), XDP on both
//     uplinks, the lab service (lab/service.ts) on both; `held` connections opened from the ToR (its link
//     address 198.51.100.128, lab/holder.ts) and their flow entries on A counted;
//  2. the flood: build/lab/syn-flood (lab/syn-flood.c) in the ToR namespace sends up to `syns` SYNs for at
//     most `seconds`, paced at `rate` per second (0: as fast as it goes), to the
//     VIP's port, spoofed from documentation prefixes that are nobody's in the lab, while the holder opens
//     `steadyCount` new legitimate connections, one every `steadyEveryMs` (`steady`);
//  3. every held connection must still answer with its own instance (`check`), and A's flow table is
//     read: how many held connections' entries the flood left there.
// A's flow table is `table` entries, fewer than the flood's SYNs: with the guard off every SYN is
// inserted and the table overruns (the held entries mostly survive even then: they were referenced by
// later packets, and the kernel's LRU evicts unreferenced entries first — 196 of 200 kept in one run);
// with it on the flood past the guard's rate is steered unrecorded. Either way the rings name the same
// owners, so nothing breaks here: what the table holds matters across a ring change.
// Used by flood-lab.root.test.ts (small) and bench/steer-flood.bench.ts (200k SYNs, 1,000 held).
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { nodeArgs } from '../../lab/apps.js';
import type { CheckReport, OpenedReport, SteadyReport } from '../../lab/holder.js';
import { removeNetnsByPrefix } from '../../lab/netns.js';
import { ifIndex, projectRoot, withNetns } from '../../src/native/index.js';
import { Dataplane, type InstanceSpec } from '../../src/steer/dataplane.js';
import { decodeFlowKey } from '../../src/steer/layout.js';
import { nextLine, START_TIMEOUT_MS, spawnIn } from './lab-procs.js';
import { buildVethLab, HOST_A, HOST_B, HOST6_A, HOST6_B, VIP } from './veth-lab.js';

const PORT = 8000; // the lab service's TCP port
const SVC = 0;
const A: InstanceSpec = { id: 'a/svc', host4: HOST_A, host6: HOST6_A, local: true };
const B: InstanceSpec = { id: 'b/svc', host4: HOST_B, host6: HOST6_B, local: false };
/** Spoofed sources: documentation prefixes no lab address is in (the client is 203.0.113.7, the hosts'
 * links 198.51.100.128/30, their addresses 198.51.100.1 and .2). */
const FLOOD_SOURCES = '203.0.113.64/26,198.51.100.32/27';
const SYN_FLOOD = join(projectRoot(), 'build/lab/syn-flood');
/** Time to open the held connections, per connection (a loaded 2-core box), beyond the start. */
const OPEN_MS_PER_CONN = 30;
/** Bound on the holder's check and on the flood's and the steady run's reports beyond their own length. */
const REPORT_SLACK_MS = 30_000;

export interface FloodOptions {
  held: number;
  syns: number; // at most (lab/syn-flood.c caps it at 4,000,000)
  seconds: number; // at most (capped at 20)
  /** SYNs per second (0: as fast as the generator goes). */
  rate: number;
  guard: number; // dataplane.flood_guard.new_flows_per_cpu_per_s on A and B (0: off)
  table: number; // dataplane.flow_table_size on A and B
  steadyEveryMs: number;
  steadyCount: number;
}

export interface FloodReport {
  guard: number;
  table: number;
  held: number;
  heldByHost: Record<string, number>;
  broken: number;
  reasons: Record<string, number>;
  flood: { sent: number; elapsedMs: number; errors: number; perSecond: number; firstError?: string };
  steady: { attempts: number; failures: number; successRate: number; firstError?: string };
  /** On A during the flood: flow-table misses, new flows the guard steered unrecorded, flows recorded. */
  missesA: number;
  bypassA: number;
  recordedA: number;
  /** Held connections' entries in A's flow table before and after the flood. */
  heldEntriesBefore: number;
  heldEntriesAfter: number;
}

/** Keys of the flow entries in `dp`'s table to the service's port (hex). */
function serviceEntries(dp: Dataplane): Set<string> {
  return new Set(
    [...dp.readFlows().keys()].filter((hex) => decodeFlowKey(Buffer.from(hex, 'hex')).dport === PORT),
  );
}

export async function floodScenario(prefix: string, o: FloodOptions): Promise<FloodReport> {
  const lab = buildVethLab(prefix);
  const procs: ChildProcess[] = [];
  const dps: Dataplane[] = [];
  const node = (script: string, args: string[]): string[] => [
    process.execPath,
    ...nodeArgs(join(projectRoot(), script), args),
  ];
  try {
    const open = (host4: string, host6: string): Dataplane => {
      const dp = Dataplane.open({
        pin: false,
        host4,
        host6,
        floodNewFlowsPerCpu: o.guard,
        flowTableSize: o.table,
      });
      dps.push(dp);
      return dp;
    };
    const dpA = open(HOST_A, HOST6_A);
    const dpB = open(HOST_B, HOST6_B);
    for (const [dp, me] of [
      [dpA, A.id],
      [dpB, B.id],
    ] as const) {
      const view = [A, B].map((i) => ({ ...i, local: i.id === me }));
      dp.setVips([{ vipId: 0, serviceId: SVC, addr: VIP, proto: 'tcp', port: PORT }]);
      dp.setServiceRings(SVC, { new: view, established: view });
    }
    withNetns(lab.nsA.name, () => dpA.attach(ifIndex('up0'), 'native'));
    withNetns(lab.nsB.name, () => dpB.attach(ifIndex('up0'), 'native'));
    for (const [ns, id] of [
      [lab.nsA, 'A'],
      [lab.nsB, 'B'],
    ] as const) {
      const s = spawnIn(ns, node('lab/service.ts', ['--id', id, '--bind', VIP]), procs);
      if ((await nextLine(s.lines, START_TIMEOUT_MS)) !== 'ready')
        throw new Error(`service ${id} did not start`);
    }
    const holder = spawnIn(
      lab.tor,
      node('lab/holder.ts', ['--target', VIP, '--count', String(o.held), '--port', String(PORT)]),
      procs,
    );
    const opened = JSON.parse(
      await nextLine(holder.lines, START_TIMEOUT_MS + o.held * OPEN_MS_PER_CONN),
    ) as OpenedReport;
    if (opened.failed > 0)
      throw new Error(`holder: ${opened.failed} connections failed to open (${opened.firstError})`);
    const heldKeys = serviceEntries(dpA); // the held connections' entries (nothing else has run yet)
    const g0 = dpA.globalStats();
    const floodArgs = [
      ...['--target', VIP, '--port', String(PORT), '--sources', FLOOD_SOURCES],
      ...['--count', String(o.syns), '--seconds', String(o.seconds), '--rate', String(o.rate)],
    ];
    const flood = spawnIn(lab.tor, [SYN_FLOOD, ...floodArgs], procs);
    const floodLine = nextLine(flood.lines, o.seconds * 1000 + REPORT_SLACK_MS);
    holder.p.stdin!.write(`steady ${o.steadyEveryMs} ${o.steadyCount}\n`);
    const steady = JSON.parse(
      await nextLine(holder.lines, o.steadyEveryMs * o.steadyCount + REPORT_SLACK_MS),
    ) as SteadyReport;
    const f = JSON.parse(await floodLine) as {
      sent: number;
      elapsed_ms: number;
      errors: number;
      first_error?: string;
    };
    const g1 = dpA.globalStats();
    holder.p.stdin!.write('check\n');
    const check = JSON.parse(await nextLine(holder.lines, REPORT_SLACK_MS)) as CheckReport;
    const missesA = Number(g1.flow_miss - g0.flow_miss);
    const bypassA = Number(g1.flood_bypass - g0.flood_bypass);
    return {
      guard: o.guard,
      table: o.table,
      held: o.held,
      heldByHost: opened.byHost,
      broken: Object.values(check.broken).reduce((a, b) => a + b, 0),
      reasons: check.reasons,
      flood: {
        sent: f.sent,
        elapsedMs: f.elapsed_ms,
        errors: f.errors,
        perSecond: Math.round((1000 * f.sent) / Math.max(1, f.elapsed_ms)),
        ...(f.first_error ? { firstError: f.first_error } : {}),
      },
      steady: {
        attempts: steady.attempts,
        failures: steady.failures,
        successRate: +((steady.attempts - steady.failures) / steady.attempts).toFixed(4),
        ...(steady.firstError ? { firstError: steady.firstError } : {}),
      },
      missesA,
      bypassA,
      recordedA: missesA - bypassA,
      heldEntriesBefore: heldKeys.size,
      heldEntriesAfter: [...serviceEntries(dpA)].filter((k) => heldKeys.has(k)).length,
    };
  } finally {
    for (const p of procs) p.kill();
    removeNetnsByPrefix(prefix);
    for (const dp of dps) dp.close();
    lab.pass.close();
  }
}
