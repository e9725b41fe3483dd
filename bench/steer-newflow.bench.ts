// New-flow benchmark against Katran (DESIGN.md "Measures that matter"): ns per packet of a TCP SYN that
// opens a flow (ring lookup + flow insert) and of an ACK that misses the flow table (ring lookup + insert),
// ours beside Katran's balancer (bench/katran.ts, `make katran`) on this machine, both forwarding the same
// frames to one remote host. Same harness for every program: BPF_PROG_TEST_RUN, one run per syscall, each
// frame a flow never seen; programs interleaved in chunks of CHUNK frames on one CPU (the process is pinned),
// so load from elsewhere falls on all of them alike. Per packet = median run − the bare XDP_PASS program's
// median over the same frames + the bare program's 1e6-repeat figure. Ratios are ours / Katran's, per
// table state, every table ANYCASTD_BENCH_NEWFLOW_TABLE entries (default: the config's flow_table_size
// default; ours: `flows`; Katran: this CPU's LRU):
//  - fresh:     a table just made (each round loads ours anew and gives Katran new LRU maps);
//  - evicting:  filled to capacity first (user-space batch updates), so each insert evicts;
//  - been full: then emptied (every entry deleted), the state of a table after a burst.
// ANYCASTD_BENCH_STEER_BEFORE=<steer.bpf.o> adds an older object of ours as a further contender: the A/B of a
// change, in the same run. `settled` is this object with record_settled 0 (bpf/README.md "Fewer inserts"):
// the bench's rings all name one owner, so it records nothing (checked) — its figure is the cost of a new
// flow that needs no entry; `ours` records every flow (record_settled 1, the default).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_FLOW_TABLE_SIZE } from '../src/config/flow-memory.js';
import { BpfObject, type BpfProgram, possibleCpus, projectRoot } from '../src/native/index.js';
import { ipv4Bytes } from '../src/steer/addr.js';
import { Dataplane } from '../src/steer/dataplane.js';
import * as L from '../src/steer/layout.js';
import * as P from '../src/steer/proto.js';
import { type FlowSpec, flowFrame, MAC_TOR } from '../test/steer/packets.js';
import { HOST4, HOST6, MTU, REMOTE, SVC_REMOTE, VIPS } from '../test/steer/setup.js';
import { KATRAN_OBJECT, Katran } from './katran.js';
import type { BenchOutput } from './run.js';

const env = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
const FRAMES = env('ANYCASTD_BENCH_NEWFLOW_FRAMES', 20_000); // new flows per (round, state, kind)
const ROUNDS = env('ANYCASTD_BENCH_NEWFLOW_ROUNDS', 5);
const TABLE = env('ANYCASTD_BENCH_NEWFLOW_TABLE', DEFAULT_FLOW_TABLE_SIZE);
const BEFORE = process.env.ANYCASTD_BENCH_STEER_BEFORE;
const CHUNK = 500; // frames per program before the next one runs
const REPEAT = 1_000_000; // the bare program's per-packet figure
const SPORT0 = 1024;
const VIP = VIPS.remote4;
const STATES = ['fresh', 'evicting', 'beenFull'] as const;
const KINDS = { syn: P.TCP_SYN, ack: P.TCP_ACK } as const;
type State = (typeof STATES)[number];
type Kind = keyof typeof KINDS;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** One frame per new flow: a source address per (state, kind), a port per frame. */
function frames(state: State, kind: Kind): Buffer[] {
  const src = `203.0.113.${1 + STATES.indexOf(state) * 2 + Object.keys(KINDS).indexOf(kind)}`;
  return Array.from({ length: FRAMES }, (_, i) => {
    const f: FlowSpec = {
      family: 4,
      proto: 'tcp',
      src,
      dst: VIP.addr,
      sport: SPORT0 + i,
      dport: VIP.port,
      flags: KINDS[kind],
      payload: Buffer.alloc(100, 0x61),
    };
    return flowFrame(f);
  });
}

/** The i-th filler flow (never one of the timed frames: sources 192.0.2.128 and up). */
const filler = (i: number): { src: string; sport: number } => ({
  src: `192.0.2.${128 + (i >>> 16)}`,
  sport: i & 0xffff,
});

interface Contender {
  name: string;
  program: () => BpfProgram;
  fresh: () => void;
  fill: (n: number) => number; // entries after
  empty: () => void;
  misses?: () => bigint; // flow-table misses counted so far (ours)
  inserts: boolean; // whether each timed frame adds an entry
  entries: () => number; // flow-table entries now
  close: () => void;
}

/** Ours: a two-ring service whose rings name one remote instance (production's shape). */
function ours(name: string, objectPath: string | undefined, recordSettled = true): Contender {
  let dp: Dataplane | null = null;
  const open = (): Dataplane => {
    dp?.close();
    dp = Dataplane.open({
      pin: false,
      host4: HOST4,
      host6: HOST6,
      mtu: MTU,
      objectPath,
      flowTableSize: TABLE,
      ...(recordSettled ? {} : { recordSettled }),
    });
    dp.setServiceRings(SVC_REMOTE, { new: [REMOTE], established: [REMOTE] });
    dp.setVips([VIP]);
    return dp;
  };
  const cur = (): Dataplane => dp ?? open();
  return {
    name,
    program: () => cur().program,
    fresh: () => void open(),
    fill: (n) => {
      const d = cur();
      const val = L.encodeFlowVal({ instance: d.instanceSlot(REMOTE.id), flags: 0 });
      for (let at = 0; at < n; at += 65536) {
        const keys = Array.from({ length: Math.min(65536, n - at) }, (_, j) => {
          const f = filler(at + j);
          return L.encodeFlowKey({
            src: Buffer.concat([ipv4Bytes(f.src), Buffer.alloc(12)]),
            dst: Buffer.concat([ipv4Bytes(VIP.addr), Buffer.alloc(12)]),
            sport: f.sport,
            dport: VIP.port,
            proto: 6,
            family: 4,
          });
        });
        d.map('flows').updateBatch(
          keys,
          keys.map(() => val),
        );
      }
      return d.map('flows').count();
    },
    empty: () => cur().clearFlows(),
    entries: () => cur().map('flows').count(),
    misses: () => cur().globalStats().flow_miss,
    inserts: recordSettled,
    close: () => dp?.close(),
  };
}

function katran(cpu: number): Contender {
  const k = Katran.open({
    vip4: VIP.addr,
    vipPort: VIP.port,
    real4: REMOTE.host4,
    routerMac: MAC_TOR,
    lruSize: TABLE,
  });
  return {
    name: 'katran',
    program: () => k.program,
    fresh: () => k.freshTables(),
    fill: (n) => {
      for (let at = 0; at < n; at += 65536) {
        const keys = Array.from({ length: Math.min(65536, n - at) }, (_, j) => {
          const f = filler(at + j);
          return Katran.flowKey(f.src, VIP.addr, f.sport, VIP.port);
        });
        k.lru(cpu).updateBatch(
          keys,
          keys.map(() => Katran.flowVal()),
        );
      }
      return k.lru(cpu).count();
    },
    empty: () => {
      for (const key of k.lru(cpu).keys()) k.lru(cpu).delete(key);
    },
    entries: () => k.lru(cpu).count(),
    inserts: true,
    close: () => k.close(),
  };
}

/** Pins this process to one CPU (BPF_PROG_TEST_RUN runs on the caller's): the last one. */
function pinCpu(): number {
  const cpu = possibleCpus() - 1;
  const r = spawnSync('taskset', ['-pc', String(cpu), String(process.pid)], { encoding: 'utf8' });
  assert.equal(r.status, 0, `taskset: ${r.stderr}`);
  return cpu;
}

type Figures = Record<string, Record<State, Record<Kind, number>>>;

export async function run(): Promise<BenchOutput> {
  assert.ok(existsSync(KATRAN_OBJECT), `${KATRAN_OBJECT} missing: make katran`);
  const cpu = pinCpu();
  const bareObj = BpfObject.open(join(projectRoot(), 'build/bpf/xdp_pass.bpf.o'));
  bareObj.load();
  const bare = bareObj.program('xdp_pass');
  const contenders: Contender[] = [
    ours('ours', undefined),
    ours('settled', undefined, false),
    ...(BEFORE ? [ours('before', BEFORE)] : []),
    katran(cpu),
  ];
  const byName = <T>(make: () => T): Record<string, T> =>
    Object.fromEntries(contenders.map((c) => [c.name, make()]));
  const runs = byName(() => {
    const per = {} as Record<State, Record<Kind, number[]>>;
    for (const s of STATES) per[s] = { syn: [], ack: [] };
    return per;
  });
  const entries = byName((): number[] => []);
  const bareRepeat: number[] = [];
  try {
    const bareFrame = frames('fresh', 'syn')[0]!;
    for (let round = 0; round < ROUNDS; round++) {
      bareRepeat.push(bare.testRun({ data: bareFrame, repeat: REPEAT }).durationNs);
      for (const c of contenders) c.fresh();
      for (const state of STATES) {
        if (state === 'evicting') for (const c of contenders) entries[c.name]!.push(c.fill(TABLE));
        if (state === 'beenFull') for (const c of contenders) c.empty();
        for (const kind of Object.keys(KINDS) as Kind[]) {
          const fs = frames(state, kind);
          const before = contenders.map((c) => c.misses?.() ?? 0n);
          const had = contenders.map((c) => c.entries());
          const ds: Record<string, number[]> = { ...byName((): number[] => []), bare: [] };
          for (let at = 0; at < fs.length; at += CHUNK) {
            const chunk = fs.slice(at, at + CHUNK);
            for (const f of chunk) ds.bare!.push(bare.testRun({ data: f }).durationNs);
            for (const c of contenders) {
              const prog = c.program();
              const out = ds[c.name]!;
              for (const f of chunk) {
                const r = prog.testRun({ data: f });
                assert.equal(r.retval, P.XDP_TX, `${c.name} ${state} ${kind}: verdict`);
                out.push(r.durationNs);
              }
            }
          }
          contenders.forEach((c, i) => {
            if (c.misses)
              assert.equal(c.misses() - before[i]!, BigInt(FRAMES), `${c.name}: every frame a miss`);
            // every frame inserted (no flood guard skipped one) where the table had room for all; none
            // by a contender that records no settled flow
            if (state !== 'evicting' || !c.inserts)
              assert.equal(
                c.entries() - had[i]!,
                c.inserts ? FRAMES : 0,
                `${c.name} ${state} ${kind}: ${c.inserts ? 'every flow inserted' : 'no flow inserted'}`,
              );
          });
          const b = median(ds.bare!);
          for (const c of contenders) runs[c.name]![state][kind].push(median(ds[c.name]!) - b);
        }
      }
    }
  } finally {
    for (const c of contenders) c.close();
    bareObj.close();
  }
  const bareNs = median(bareRepeat);
  const figures: Figures = {};
  for (const [name, byState] of Object.entries(runs)) {
    figures[name] = {} as Record<State, Record<Kind, number>>;
    for (const s of STATES)
      figures[name]![s] = {
        syn: +(median(byState[s].syn) + bareNs).toFixed(1),
        ack: +(median(byState[s].ack) + bareNs).toFixed(1),
      };
  }
  const ratio = (a: string, b: string): Record<State, Record<Kind, number>> =>
    Object.fromEntries(
      STATES.map((s) => [
        s,
        {
          syn: +(figures[a]![s].syn / figures[b]![s].syn).toFixed(2),
          ack: +(figures[a]![s].ack / figures[b]![s].ack).toFixed(2),
        },
      ]),
    ) as Record<State, Record<Kind, number>>;
  const ratios: Record<string, Record<State, Record<Kind, number>>> = {
    oursVsKatran: ratio('ours', 'katran'),
    settledVsKatran: ratio('settled', 'katran'),
    settledVsOurs: ratio('settled', 'ours'),
  };
  if (BEFORE) {
    ratios.beforeVsKatran = ratio('before', 'katran');
    ratios.oursVsBefore = ratio('ours', 'before');
  }
  const aims = { syn: 0.6, ack: 0.8 };
  const lines = [
    `bare XDP_PASS ${bareNs.toFixed(1)} ns; table ${TABLE} entries; ${ROUNDS} rounds × ${FRAMES} new flows per state and kind; CPU ${cpu}`,
    'state      kind  ' +
      Object.keys(figures)
        .map((n) => n.padStart(9))
        .join('') +
      '   ours/katran  aim',
    ...STATES.flatMap((s) =>
      (Object.keys(KINDS) as Kind[]).map((k) => {
        const r = ratios.oursVsKatran![s][k];
        return (
          `${s.padEnd(10)} ${k.padEnd(5)}` +
          Object.keys(figures)
            .map((n) => figures[n]![s][k].toFixed(1).padStart(9))
            .join('') +
          `   ${r.toFixed(2).padStart(11)}  ≤ ${aims[k]} ${r <= aims[k] ? 'met' : 'NOT met'}` +
          `  (settled/katran ${ratios.settledVsKatran![s][k].toFixed(2)})` +
          (BEFORE ? `  (before/katran ${ratios.beforeVsKatran![s][k].toFixed(2)})` : '')
        );
      }),
    ),
    `entries after the fill: ${Object.entries(entries)
      .map(([n, e]) => `${n} ${median(e)}`)
      .join(', ')}`,
  ];
  return {
    report: lines.join('\n'),
    data: {
      frames: FRAMES,
      rounds: ROUNDS,
      table: TABLE,
      cpu,
      bareNs,
      nsPerPacket: figures,
      ratios,
      aims,
      entries,
    },
  };
}
