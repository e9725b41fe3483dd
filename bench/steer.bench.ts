// Steering benchmark (DESIGN.md "Measures that matter"): ns per packet of each XDP path by
// BPF_PROG_TEST_RUN, median of 5 runs, beside a bare XDP_PASS program measured in the same run.
//  - paths that rewrite nothing (non-VIP, local hit): the real program, 1e6 repeats per syscall;
//  - rewriting paths (forward hit, decapsulation): 1e6 repeats of steer_undo (bpf/steer_bench.bpf.c),
//    which restores the frame after each run (one adjust_head by a load-time delta, a 128-byte copy);
//    its own cost, measured on the non-VIP path with delta 0, is subtracted;
//  - flow-table misses (each packet a new flow): 1e6 repeats of steer_undo with bench_bump_off set, which
//    bumps the IPv4 source address of the restored frame, so every repeat is a new flow (miss + insert; past
//    131072 flows the LRU evicts), harness cost subtracted; cross-checked by one run per syscall over
//    fresh flows (median per-run duration, minus that of the bare program, plus the bare figure).
// Every timed path is checked: verdict, output bytes (model), and counters that prove each repeat took it.
// Also: Maglev build time for N = 10, 100, 1000 and the disruption when k of N leave.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decide } from '../model/steer.js';
import { BpfObject, type BpfProgram, projectRoot } from '../src/native/index.js';
import type { Dataplane } from '../src/steer/dataplane.js';
import { buildMaglev, DEFAULT_RING_SIZE, extraMoves } from '../src/steer/maglev.js';
import * as P from '../src/steer/proto.js';
import { eth, type FlowSpec, flowFrame, ipPacket, tunnel } from '../test/steer/packets.js';
import { CLIENT4, HOST4, openTestbed, REMOTE4, VIPS } from '../test/steer/setup.js';
import type { BenchOutput } from './run.js';

const REPEAT = 1_000_000;
const RUNS = 5;
const SINGLE = 20_000; // one-run syscalls per miss measurement
const OBJ = (name: string): string => join(projectRoot(), 'build/bpf', name);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const flow = (dst: string, dport: number, sport = 40000, flags: number = P.TCP_ACK): FlowSpec => ({
  family: 4,
  proto: 'tcp',
  src: CLIENT4,
  dst,
  sport,
  dport,
  flags,
  payload: Buffer.alloc(100, 0x61), // 194-byte frames: longer than the harness's 128 saved bytes
});

function timed(prog: BpfProgram, data: Buffer, verdict: number, output?: Buffer): number {
  const r = prog.testRun({ data, repeat: REPEAT });
  assert.equal(r.retval, verdict, `${prog.name}: verdict`);
  if (output) assert.equal(r.data.toString('hex'), output.toString('hex'), `${prog.name}: output bytes`);
  return r.durationNs;
}

/** Median of one-run durations over `frames`, each checked against the model. */
function single(
  prog: BpfProgram,
  frames: Buffer[],
  check?: (f: Buffer, r: { retval: number; data: Buffer }) => void,
): number {
  const ds: number[] = [];
  for (const f of frames) {
    const r = prog.testRun({ data: f });
    check?.(f, r);
    ds.push(r.durationNs);
  }
  return median(ds);
}

interface PathFigures {
  ns: number;
  ratio: number;
  method: string;
}

/** Harness instances (bpf/steer_bench.bpf.c), each with the front delta its timed path needs. */
interface Harnesses {
  same: Dataplane; // delta 0: the non-VIP path (harness cost) and the local hit
  encap: Dataplane; // +20: forward hit
  decap: Dataplane; // -20: decapsulation
  newLocal: Dataplane; // delta 0, a new flow each repeat: local miss
  newEncap: Dataplane; // +20, a new flow each repeat: forward miss
}

function measurePaths(real: Dataplane, h: Harnesses, bare: BpfProgram): Record<string, number>[] {
  const nonVip = flowFrame(flow('192.0.2.99', 80));
  const local = flowFrame(flow(VIPS.local4.addr, 80));
  const remote = flowFrame(flow(VIPS.remote4.addr, 80));
  const encapOut = decide({ ...real.state, flows: new Map() }, remote).data;
  const decapIn = eth(P.ETH_P_IP, tunnel(4, REMOTE4, HOST4, ipPacket(flow(VIPS.local4.addr, 80))));
  const runs: Record<string, number>[] = [];
  for (let run = 0; run < RUNS; run++) {
    for (const dp of [real, ...Object.values(h)]) {
      dp.clearFlows();
      dp.resetStats();
    }
    for (const dp of [real, h.same, h.encap]) {
      dp.program.testRun({ data: local }); // prime the flow-table hits
      dp.program.testRun({ data: remote });
    }
    h.encap.program.testRun({ data: remote }); // (its undo put the frame back: still a hit)
    const m: Record<string, number> = {};
    m.bare = timed(bare, nonVip, P.XDP_PASS, nonVip);
    m.nonVip = timed(real.program, nonVip, P.XDP_PASS, nonVip);
    m.localHit = timed(real.program, local, P.XDP_PASS, local);
    m.wrapNonVip = timed(h.same.program, nonVip, P.XDP_PASS, nonVip);
    m.wrapLocalHit = timed(h.same.program, local, P.XDP_PASS, local);
    m.wrapForwardHit = timed(h.encap.program, remote, P.XDP_TX, remote);
    m.wrapDecap = timed(h.decap.program, decapIn, P.XDP_PASS, decapIn);
    m.freshLocalMiss = timed(h.newLocal.program, local, P.XDP_PASS);
    m.freshForwardMiss = timed(h.newEncap.program, remote, P.XDP_TX);
    assert.equal(h.newLocal.globalStats().flow_miss, BigInt(REPEAT), 'every repeat was a new flow');
    assert.equal(h.newEncap.globalStats().flow_miss, BigInt(REPEAT), 'every repeat was a new flow');
    assert.equal(h.newEncap.vipStats(VIPS.remote4.vipId).forwarded, BigInt(REPEAT));
    assert.ok(h.encap.vipStats(VIPS.remote4.vipId).forwarded >= BigInt(REPEAT), 'every repeat encapsulated');
    assert.equal(h.encap.globalStats().flow_miss, 2n, 'forward repeats hit (the 2 misses are the priming)');
    assert.equal(h.decap.vipStats(VIPS.local4.vipId).decap, BigInt(REPEAT), 'every repeat decapsulated');
    assert.equal(h.same.vipStats(VIPS.local4.vipId).local, BigInt(REPEAT + 1), 'every repeat passed locally');
    assert.equal(real.program.testRun({ data: remote }).data.toString('hex'), encapOut.toString('hex'));
    // one run per syscall: fixed cost, then misses over fresh flows (sports never seen in this run)
    const newFlows = (dst: string): Buffer[] =>
      Array.from({ length: SINGLE }, (_, i) => flowFrame(flow(dst, 80, 1024 + i, P.TCP_SYN)));
    real.clearFlows();
    const model = { ...real.state, flows: new Map<string, number>() };
    const check = (f: Buffer, r: { retval: number; data: Buffer }): void => {
      const d = decide(model, f);
      assert.equal(r.retval, d.verdict);
      assert.equal(d.flowHit, false, 'a miss');
      if (r.data.length !== d.data.length || !r.data.equals(d.data)) assert.fail('miss output bytes');
    };
    m.bareSingle = single(bare, newFlows(VIPS.local4.addr).slice(0, SINGLE / 2));
    m.localHitSingle = single(
      real.program,
      Array.from({ length: SINGLE / 2 }, () => local),
    );
    m.localMissSingle = single(real.program, newFlows(VIPS.local4.addr), check);
    m.forwardMissSingle = single(real.program, newFlows(VIPS.remote4.addr), check);
    runs.push(m);
  }
  return runs;
}

function derive(runs: Record<string, number>[]): Record<string, PathFigures> {
  const med = (f: (m: Record<string, number>) => number): number => median(runs.map(f));
  const bare = med((m) => m.bare!);
  const overhead = med((m) => m.wrapNonVip! - m.nonVip!);
  const single = (k: string): number => med((m) => m.bare! + m[k]! - m.bareSingle!);
  const harness = (k: string): number => med((m) => m[k]! - m.wrapNonVip! + m.nonVip!);
  const fig = (ns: number, method: string): PathFigures => ({
    ns: +ns.toFixed(1),
    ratio: +(ns / bare).toFixed(2),
    method,
  });
  return {
    bare: fig(bare, '1e6 repeats'),
    nonVip: fig(
      med((m) => m.nonVip!),
      '1e6 repeats',
    ),
    localHit: fig(
      med((m) => m.localHit!),
      '1e6 repeats',
    ),
    localMiss: fig(harness('freshLocalMiss'), '1e6 repeats, a new flow each, harness cost subtracted'),
    forwardHit: fig(
      med((m) => m.wrapForwardHit! - m.wrapNonVip! + m.nonVip!),
      '1e6 repeats, harness cost subtracted',
    ),
    forwardMiss: fig(harness('freshForwardMiss'), '1e6 repeats, a new flow each, harness cost subtracted'),
    decap: fig(
      med((m) => m.wrapDecap! - m.wrapNonVip! + m.nonVip!),
      '1e6 repeats, harness cost subtracted',
    ),
    harness: fig(overhead, 'steer_undo minus steer on the non-VIP path'),
    localHitCrossCheck: fig(single('localHitSingle'), 'local hit by the one-run method (vs 1e6 repeats)'),
    localHitViaHarness: fig(
      med((m) => m.wrapLocalHit! - m.wrapNonVip! + m.nonVip!),
      'local hit through the harness',
    ),
  };
}

function maglev(): { buildMs: Record<string, number>; disruption: Record<string, unknown>[] } {
  const members = (n: number): { id: string }[] =>
    Array.from({ length: n }, (_, i) => ({ id: `host${i}/svc` }));
  const buildMs: Record<string, number> = {};
  buildMaglev(members(100)); // warm the JIT before timing
  for (const n of [10, 100, 1000]) {
    const ts: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      buildMaglev(members(n));
      ts.push(performance.now() - t0);
    }
    buildMs[n] = +median(ts).toFixed(2);
  }
  const disruption: Record<string, unknown>[] = [];
  for (const n of [10, 100, 1000]) {
    const before = buildMaglev(members(n));
    for (const k of [1, Math.max(2, n / 10)]) {
      const leaving = new Set(
        members(n)
          .filter((_, i) => i % Math.floor(n / k) === 0)
          .slice(0, k)
          .map((m) => m.id),
      );
      const after = buildMaglev(members(n).filter((m) => !leaving.has(m.id)));
      const extra = extraMoves(before, after);
      disruption.push({
        n,
        k,
        unavoidablePct: +((100 * k) / n).toFixed(2),
        extraMoved: extra,
        extraPct: +((100 * extra) / DEFAULT_RING_SIZE).toFixed(3),
      });
    }
  }
  return { buildMs, disruption };
}

export async function run(): Promise<BenchOutput> {
  const bareObj = BpfObject.open(OBJ('xdp_pass.bpf.o'));
  bareObj.load();
  const i32 = (v: number): Buffer => Buffer.from(new Int32Array([v]).buffer);
  const srcAddr = i32(P.ETH_HLEN + 12); // the IPv4 source address: a new flow each repeat
  const harness = (delta: number, bump?: Buffer): Dataplane =>
    openTestbed({
      objectPath: OBJ('steer_bench.bpf.o'),
      program: 'steer_undo',
      rodata: { bench_undo_delta: i32(delta), ...(bump ? { bench_bump_off: bump } : {}) },
    });
  const real = openTestbed();
  const h: Harnesses = {
    same: harness(0),
    encap: harness(P.IPV4_HLEN),
    decap: harness(-P.IPV4_HLEN),
    newLocal: harness(0, srcAddr),
    newEncap: harness(P.IPV4_HLEN, srcAddr),
  };
  try {
    const paths = derive(measurePaths(real, h, bareObj.program('xdp_pass')));
    const mg = maglev();
    const lines = [
      'path                 ns/pkt  × bare  method',
      ...Object.entries(paths).map(
        ([k, v]) =>
          `${k.padEnd(20)} ${v.ns.toFixed(1).padStart(6)}  ${v.ratio.toFixed(2).padStart(6)}  ${v.method}`,
      ),
      `aim: forward hit < 3× bare → ${paths.forwardHit!.ratio < 3 ? 'met' : 'NOT met'} (${paths.forwardHit!.ratio}×)`,
      `maglev build (65537 entries): ${Object.entries(mg.buildMs)
        .map(([n, ms]) => `N=${n} ${ms} ms`)
        .join(', ')}`,
      ...mg.disruption.map(
        (d) =>
          `maglev disruption N=${d.n} k=${d.k}: unavoidable ${d.unavoidablePct}% + extra ${d.extraPct}% (${d.extraMoved} entries)`,
      ),
    ];
    return {
      report: lines.join('\n'),
      data: { repeat: REPEAT, runs: RUNS, single: SINGLE, paths, maglev: mg },
    };
  } finally {
    real.close();
    for (const dp of Object.values(h)) dp.close();
    bareObj.close();
  }
}
