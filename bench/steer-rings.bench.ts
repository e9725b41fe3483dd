// Cost of the two rings and the second chance (bpf/rings.h), ns per packet by BPF_PROG_TEST_RUN, median of
// 5 runs, beside a bare XDP_PASS program measured in the same run:
//  - flow-table hits (1e6 repeats of the real program): a non-SYN packet of a two-ring service against a
//    one-ring one — a hit must cost nothing more (the socket check never runs on a hit);
//  - misses (one run per syscall, the flow table and every CPU's flow_cache emptied before each, median
//    minus the bare program's one-run median, plus the bare figure): a one-ring SYN miss passed here; a
//    two-ring non-SYN miss owned here with a real socket (skc lookup + release → pass), without one (skc
//    lookup → second chance: record + encapsulate → TX), and without one nor another owner (→ pass);
//  - decapsulation (1e6 repeats of steer_undo, harness cost subtracted as in steer.bench.ts): one-ring,
//    two-ring SYN (no check), two-ring non-SYN marked without socket (lookup → used → pass), with a real
//    socket (lookup → pass), unmarked without socket (lookup → re-encapsulated → TX).
// Every timed path is checked: verdict, output bytes against the model, and the counter of its outcome.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { checksum } from '../model/csum.js';
import { decide } from '../model/steer.js';
import { BpfObject, type BpfProgram, projectRoot } from '../src/native/index.js';
import { addr16 } from '../src/steer/addr.js';
import type { Dataplane } from '../src/steer/dataplane.js';
import { encodeFlowKey, FAMILY_V4, SECOND_CHANCE_ID4, type VipStats } from '../src/steer/layout.js';
import * as P from '../src/steer/proto.js';
import type { VipSpec } from '../src/steer/vips.js';
import { receiveNext } from '../test/helpers/tcp-repair.js';
import { eth, type FlowSpec, flowFrame, tunnel } from '../test/steer/packets.js';
import { CLIENT4, HOST4, LOCAL, openTestbed, REMOTE, REMOTE4, VIPS } from '../test/steer/setup.js';
import type { BenchOutput } from './run.js';

const REPEAT = 1_000_000;
const RUNS = 5;
const SINGLE = 3_000;
const OBJ = (name: string): string => join(projectRoot(), 'build/bpf', name);
const SVC_EST_HERE = 4; // new → REMOTE, established → LOCAL
const SVC_BOTH_HERE = 5;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const flow = (src: string, dst: string, dport: number, sport: number, flags: number): FlowSpec => ({
  family: 4,
  proto: 'tcp',
  src,
  dst,
  sport,
  dport,
  flags,
  payload: Buffer.alloc(100, 0x61), // longer than the harness's 128 saved bytes
});

function setup(dp: Dataplane, extra: VipSpec[]): void {
  dp.setServiceRings(SVC_EST_HERE, { new: [REMOTE], established: [LOCAL] });
  dp.setServiceRings(SVC_BOTH_HERE, { new: [LOCAL], established: [LOCAL] });
  dp.setVips([...Object.values(VIPS), ...extra]);
}

function timed(prog: BpfProgram, data: Buffer, verdict: number, output: Buffer): number {
  const r = prog.testRun({ data, repeat: REPEAT });
  assert.equal(r.retval, verdict, `${prog.name}: verdict`);
  assert.equal(r.data.toString('hex'), output.toString('hex'), `${prog.name}: output bytes`);
  return r.durationNs;
}

/** Median one-run duration of `frame` as a miss each time (flows and caches emptied before each run). */
function missSingle(dp: Dataplane, frame: Buffer, want: Buffer, verdict: number): number {
  const ds: number[] = [];
  for (let i = 0; i < SINGLE; i++) {
    dp.clearFlows();
    const r = dp.program.testRun({ data: frame });
    assert.equal(r.retval, verdict);
    if (!r.data.equals(want)) assert.fail('miss output bytes');
    ds.push(r.durationNs);
  }
  assert.equal(dp.globalStats().flow_hit, 0n, 'every run a miss');
  return median(ds);
}

export async function run(): Promise<BenchOutput> {
  const server = createServer((s) => accepted.push(s));
  const accepted: Socket[] = [];
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const cport = client.localPort as number;
  while (accepted.length === 0) await new Promise((r) => setImmediate(r));
  const rcvNxt = receiveNext(accepted[0]!); // the socket check compares the segment's sequence number
  const vips: VipSpec[] = [
    { vipId: 20, serviceId: SVC_EST_HERE, addr: '192.0.2.20', proto: 'tcp', port: 80 },
    { vipId: 21, serviceId: SVC_BOTH_HERE, addr: '192.0.2.22', proto: 'tcp', port: 80 },
    { vipId: 22, serviceId: SVC_EST_HERE, addr: '127.0.0.1', proto: 'tcp', port },
  ];
  const bareObj = BpfObject.open(OBJ('xdp_pass.bpf.o'));
  bareObj.load();
  const bare = bareObj.program('xdp_pass');
  const i32 = (v: number): Buffer => Buffer.from(new Int32Array([v]).buffer);
  const harness = (delta: number): Dataplane => {
    const dp = openTestbed({
      objectPath: OBJ('steer_bench.bpf.o'),
      program: 'steer_undo',
      rodata: { bench_undo_delta: i32(delta) },
    });
    setup(dp, vips);
    return dp;
  };
  const real = openTestbed();
  setup(real, vips);
  const same = harness(0);
  const decap = harness(-P.IPV4_HLEN);
  const dps = [real, same, decap];
  try {
    const F = {
      nonVip: flowFrame(flow(CLIENT4, '192.0.2.99', 80, 40000, P.TCP_ACK)),
      oneRingAck: flowFrame(flow(CLIENT4, VIPS.local4.addr, 80, 40000, P.TCP_ACK)),
      oneRingSyn: flowFrame(flow(CLIENT4, VIPS.local4.addr, 80, 40000, P.TCP_SYN)),
      twoRingAck: flowFrame(flow(CLIENT4, '192.0.2.22', 80, 40000, P.TCP_ACK)),
      twoRingSyn: flowFrame(flow(CLIENT4, '192.0.2.22', 80, 40000, P.TCP_SYN)),
      ackEstHere: flowFrame(flow(CLIENT4, '192.0.2.20', 80, 40000, P.TCP_ACK)),
      ackSocket: flowFrame({ ...flow('127.0.0.1', '127.0.0.1', port, cport, P.TCP_ACK), seq: rcvNxt }),
    };
    const tun = (f: Buffer, marked: boolean): Buffer => {
      const t = tunnel(4, REMOTE4, HOST4, f.subarray(P.ETH_HLEN));
      if (marked) markId(t);
      return eth(P.ETH_P_IP, t);
    };
    const D = {
      oneRing: tun(F.oneRingAck, false),
      twoRingSyn: tun(flowFrame(flow(CLIENT4, '192.0.2.20', 80, 40000, P.TCP_SYN)), false),
      marked: tun(F.ackEstHere, true),
      socket: tun(F.ackSocket, false),
      forward: tun(F.ackEstHere, false),
    };
    const sockets = new Map([
      [
        encodeFlowKey({
          src: addr16('127.0.0.1'),
          dst: addr16('127.0.0.1'),
          sport: cport,
          dport: port,
          proto: P.IPPROTO_TCP,
          family: FAMILY_V4,
        }).toString('hex'),
        { rcvNxt, rcvWnd: 65_535 },
      ],
    ]);
    const model = (f: Buffer) => decide({ ...real.state, flows: new Map(), sockets }, f);
    const runs: Record<string, number>[] = [];
    for (let r = 0; r < RUNS; r++) {
      for (const dp of dps) {
        dp.clearFlows();
        dp.resetStats();
      }
      const m: Record<string, number> = {};
      m.bare = timed(bare, F.nonVip, P.XDP_PASS, F.nonVip);
      real.program.testRun({ data: F.oneRingAck }); // prime the hits
      // its SYN records the flow (an ACK nobody else can serve would not be recorded: steer_core.h)
      real.program.testRun({ data: F.twoRingSyn });
      m.oneRingHit = timed(real.program, F.oneRingAck, P.XDP_PASS, F.oneRingAck);
      m.twoRingHit = timed(real.program, F.twoRingAck, P.XDP_PASS, F.twoRingAck);
      assert.equal(real.globalStats().sk_lookup, 0n, 'no socket check: none on a SYN, none on hits');
      m.wrapNonVip = timed(same.program, F.nonVip, P.XDP_PASS, F.nonVip);
      m.nonVip = timed(real.program, F.nonVip, P.XDP_PASS, F.nonVip);
      const viaHarness = (dp: Dataplane, f: Buffer): number => {
        const want = model(f);
        return timed(dp.program, f, want.verdict, f) - m.wrapNonVip! + m.nonVip!;
      };
      m.decapOneRing = viaHarness(decap, D.oneRing);
      m.decapTwoRingSyn = viaHarness(decap, D.twoRingSyn);
      m.decapMarkedNoSocket = viaHarness(decap, D.marked);
      m.decapSocket = viaHarness(decap, D.socket);
      m.decapSecondChance = viaHarness(same, D.forward); // -20 then +20: the frame keeps its length
      const st = (id: number): VipStats => decap.vipStats(id);
      assert.equal(st(20).sc_used, BigInt(REPEAT), 'marked: chance used');
      assert.equal(st(22).sc_socket, BigInt(REPEAT), 'socket found');
      assert.equal(same.vipStats(20).sc_forwarded, BigInt(REPEAT), 'decap second chance forwarded');
      const bareOne = median(
        Array.from({ length: SINGLE }, () => bare.testRun({ data: F.nonVip }).durationNs),
      );
      const miss = (f: Buffer): number => {
        const want = model(f);
        return missSingle(real, f, want.data, want.verdict) - bareOne + m.bare!;
      };
      real.resetStats();
      m.missOneRingSyn = miss(F.oneRingSyn);
      m.missSocket = miss(F.ackSocket);
      m.missSecondChance = miss(F.ackEstHere);
      m.missNoAlternative = miss(F.twoRingAck);
      assert.equal(real.vipStats(22).sc_socket, BigInt(SINGLE));
      assert.equal(real.vipStats(20).sc_forwarded, BigInt(SINGLE));
      assert.equal(real.vipStats(21).sc_none, BigInt(SINGLE));
      runs.push(m);
    }
    const keys = Object.keys(runs[0]!).filter((k) => !['wrapNonVip'].includes(k));
    const med = Object.fromEntries(keys.map((k) => [k, +median(runs.map((m) => m[k]!)).toFixed(1)]));
    const lines = [
      'path                   ns/pkt  × bare',
      ...keys.map(
        (k) =>
          `${k.padEnd(22)} ${med[k]!.toFixed(1).padStart(6)}  ${(med[k]! / med.bare!).toFixed(2).padStart(6)}`,
      ),
      `hit of a two-ring service vs one-ring: ${(med.twoRingHit! - med.oneRingHit!).toFixed(1)} ns`,
      `socket check on a miss (found, vs one-ring SYN miss): +${(med.missSocket! - med.missOneRingSyn!).toFixed(1)} ns`,
    ];
    return { report: lines.join('\n'), data: { repeat: REPEAT, runs: RUNS, single: SINGLE, ns: med } };
  } finally {
    for (const dp of dps) dp.close();
    bareObj.close();
    client.destroy();
    for (const s of accepted) s.destroy();
    server.close();
  }
}

/** Puts the second-chance id on an IPv4 outer header (checksum fixed). */
function markId(ip: Buffer): void {
  ip.writeUInt16BE(SECOND_CHANCE_ID4, 4);
  ip.writeUInt16BE(0, 10);
  ip.writeUInt16BE(checksum(ip.subarray(0, P.IPV4_HLEN)), 10);
}
