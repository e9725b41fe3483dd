// VIP lookup benchmark: ns per packet of the non-VIP pass and of a VIP's local flow-table hit, by
// BPF_PROG_TEST_RUN (1e6 repeats, median of RUNS interleaved rounds), beside a bare XDP_PASS in the same
// rounds, for
//  - `before`: the steering object built from BASE_REV's bpf/ (the VIP lookup before the address filter:
//    two probes of a 4096-slot table on every parsed packet), compiled here into build/bpf-base/<rev>/
//    with the Makefile's flags and loaded raw (its layout is not this tree's): the test bed's VIPs at
//    their slots of that table, ring entries all zero and instance slot 0 local, so a VIP is a local hit;
//  - `after`: this tree's object with the standard test bed (9 VIP/port entries);
//  - `full`: this tree's object with the table at its limit (MAX_VIPS VIP/port entries, each on its own
//    address, plus their fragment entries; the test bed's VIPs among them).
// Rounds in which the bare program ran slow (a loaded guest) are dropped, the count reported.
// Every timed run is checked: verdict, output bytes unchanged (no path here rewrites), and the counters
// that prove each repeat took the path (non_vip, local).
// STEER_VIPS_BASE_REV=<rev> picks the baseline (default BASE_REV); STEER_VIPS_RUNS the rounds.
// ANYCASTD_BENCH_STEER_BEFORE=<steer.bpf.o> adds `prev`: an older object of this tree's layout with the
// standard test bed, in the same interleaved rounds (the A/B of a change to these paths).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BpfObject, type BpfProgram, projectRoot } from '../src/native/index.js';
import { u32key } from '../src/steer/adopt.js';
import type { Dataplane } from '../src/steer/dataplane.js';
import * as L from '../src/steer/layout.js';
import * as P from '../src/steer/proto.js';
import { type VipSpec, vipEntries } from '../src/steer/vips.js';
import { BASE_REV, baselineObject, writeBaselineVips } from '../test/steer/baseline.js';
import { flowFrame } from '../test/steer/packets.js';
import { CLIENT4, openTestbed, VIPS } from '../test/steer/setup.js';
import type { BenchOutput } from './run.js';

const REPEAT = 1_000_000;
const RUNS = Number(process.env.STEER_VIPS_RUNS ?? 11);
/** Rounds whose bare figure exceeds the lowest by this factor are dropped (see `run`). */
const QUIET_FACTOR = 1.5;
const PREV = process.env.ANYCASTD_BENCH_STEER_BEFORE;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The baseline object loaded with the test bed's VIPs in its own vip_table; every VIP a local hit. */
function openBaseline(path: string): BpfObject {
  const obj = BpfObject.open(path);
  obj.load();
  writeBaselineVips(obj, vipEntries(Object.values(VIPS)));
  const local = L.encodeInstance({
    host4: Buffer.alloc(4),
    host6: Buffer.alloc(16),
    flags: L.INSTANCE_F_VALID | L.INSTANCE_F_LOCAL,
  });
  obj.map('instances').update(u32key(0), local);
  return obj;
}

/** MAX_VIPS VIP/port entries: the test bed's and more, one address each (10.0.0.0/8), port 443. */
function fullTable(): VipSpec[] {
  const bed: VipSpec[] = Object.values(VIPS);
  const more = Array.from({ length: L.MAX_VIPS - bed.length }, (_, i) => ({
    vipId: bed.length + i,
    serviceId: VIPS.local4.serviceId,
    addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    proto: 'tcp' as const,
    port: 443,
  }));
  return [...bed, ...more];
}

function timed(prog: BpfProgram, data: Buffer): number {
  const r = prog.testRun({ data, repeat: REPEAT });
  assert.equal(r.retval, P.XDP_PASS, `${prog.name}: verdict`);
  assert.equal(r.data.toString('hex'), data.toString('hex'), `${prog.name}: output bytes`);
  return r.durationNs;
}

const ACK = { family: 4, proto: 'tcp', src: CLIENT4, sport: 40000, flags: P.TCP_ACK } as const;

export async function run(): Promise<BenchOutput> {
  const rev = process.env.STEER_VIPS_BASE_REV ?? BASE_REV;
  const bareObj = BpfObject.open(join(projectRoot(), 'build/bpf/xdp_pass.bpf.o'));
  bareObj.load();
  const base = openBaseline(baselineObject(rev));
  const after: Dataplane = openTestbed();
  const full: Dataplane = openTestbed();
  const prev: Dataplane | undefined = PREV ? openTestbed({ objectPath: PREV }) : undefined;
  try {
    full.setVips(fullTable());
    const nonVip = flowFrame({ ...ACK, dst: '192.0.2.99', dport: 80 });
    const vipOtherPort = flowFrame({ ...ACK, dst: VIPS.local4.addr, dport: 8080 });
    const local = flowFrame({ ...ACK, dst: VIPS.local4.addr, dport: 80 });
    const progs = {
      before: base.program('steer'),
      after: after.program,
      full: full.program,
      ...(prev ? { prev: prev.program } : {}),
    };
    const rounds: Record<string, number>[] = [];
    for (let r = 0; r < RUNS; r++) {
      const m: Record<string, number> = { bare: timed(bareObj.program('xdp_pass'), nonVip) };
      for (const [name, prog] of Object.entries(progs)) {
        prog.testRun({ data: local }); // record the flow: the timed local runs are hits
        m[`${name}.nonVip`] = timed(prog, nonVip);
        m[`${name}.vipOtherPort`] = timed(prog, vipOtherPort);
        m[`${name}.localHit`] = timed(prog, local);
      }
      rounds.push(m);
    }
    for (const dp of [after, full, ...(prev ? [prev] : [])]) {
      assert.ok(dp.globalStats().non_vip >= BigInt(2 * RUNS * REPEAT), 'every non-VIP repeat counted');
      assert.ok(dp.vipStats(VIPS.local4.vipId).local >= BigInt(RUNS * REPEAT), 'every VIP repeat local');
    }
    // A round in which the bare program itself ran slow (preempted or stolen time on a loaded 2-core
    // guest: every program of that round was ~45 ns slower) is dropped.
    const quiet = rounds.filter((m) => m.bare! <= QUIET_FACTOR * Math.min(...rounds.map((x) => x.bare!)));
    const bare = median(quiet.map((m) => m.bare!));
    const fig = (k: string): { ns: number; ratio: number } => {
      const ns = median(quiet.map((m) => m[k]!));
      return { ns: +ns.toFixed(1), ratio: +(ns / bare).toFixed(2) };
    };
    const paths: Record<string, { ns: number; ratio: number }> = { bare: fig('bare') };
    for (const name of Object.keys(progs))
      for (const path of ['nonVip', 'vipOtherPort', 'localHit'])
        paths[`${name}.${path}`] = fig(`${name}.${path}`);
    const spilled = full.vipPlacement.spilled.size;
    const lines = [
      `baseline: ${rev} (build/bpf-base/${rev}/steer.bpf.o); ${RUNS} interleaved rounds of ${REPEAT} repeats, ` +
        `medians of the ${quiet.length} quiet ones`,
      'path                        ns/pkt  × bare',
      ...Object.entries(paths).map(
        ([k, v]) => `${k.padEnd(27)} ${v.ns.toFixed(1).padStart(6)}  ${v.ratio.toFixed(2).padStart(6)}`,
      ),
      ...(prev ? [`prev: ${PREV}`] : []),
      `full table: ${L.MAX_VIPS} VIP/port entries + fragment entries, ${spilled} in vip_spill`,
      `aim: non-VIP ≤ 1.5× bare → ${paths['after.nonVip']!.ratio <= 1.5 ? 'met' : 'NOT met'} (${paths['after.nonVip']!.ratio}×, before ${paths['before.nonVip']!.ratio}×)`,
    ];
    return {
      report: lines.join('\n'),
      data: { baseRev: rev, repeat: REPEAT, runs: RUNS, quiet: quiet.length, paths, spilled },
    };
  } finally {
    after.close();
    full.close();
    prev?.close();
    base.close();
    bareObj.close();
  }
}
