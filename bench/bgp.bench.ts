// BGP benchmark (DESIGN.md "Measures that matter"):
// - UPDATE codec: messages encoded and decoded per second at 10k and 100k IPv6 prefixes, one prefix per
//   UPDATE and packed, beside JSON.stringify / JSON.parse of the same routes and a Buffer copy of the
//   same bytes, all in the same run (bench/bgp-codec.ts);
// - convergence: ms from advertising 1,000 VIPs to all of them in a BIRD peer's and an FRR peer's
//   kernel FIB, and back out on withdrawal, median of a few runs (bench/bgp-converge.ts).
import { type CodecFigures, codecFigures, codecLine } from './bgp-codec.js';
import { convergeFigures } from './bgp-converge.js';
import type { BenchOutput } from './run.js';

const SIZES = [10_000, 100_000];
const PACKINGS = ['single', 'packed'] as const;
const CODEC_RUNS = { 10000: 5, 100000: 3 } as Record<number, number>;
const VIPS = Number(process.env.ANYCASTD_BENCH_BGP_VIPS ?? 1000);
const CONVERGE_RUNS = Number(process.env.ANYCASTD_BENCH_BGP_RUNS ?? 5);

export async function run(): Promise<BenchOutput> {
  const codec: CodecFigures[] = [];
  for (const n of SIZES) for (const p of PACKINGS) codec.push(codecFigures(n, p, CODEC_RUNS[n] ?? 3));
  const conv = await convergeFigures(VIPS, CONVERGE_RUNS);
  const lines = [
    'UPDATE codec (IPv6 /128s in MP_REACH_NLRI, 4-octet AS_PATH; median of runs; baseline JSON of the same routes):',
    ...codec.map((f) => `  ${codecLine(f)}`),
    `${VIPS} VIPs advertised at once → all in the peer's kernel FIB, median of ${CONVERGE_RUNS}: ` +
      `BIRD ${conv.installMedianMs.bird} ms, FRR ${conv.installMedianMs.frr} ms ` +
      `(runs BIRD ${conv.installMs.bird.join('/')}, FRR ${conv.installMs.frr.join('/')}); ` +
      `withdrawn → all gone: BIRD ${conv.withdrawMedianMs.bird} ms, FRR ${conv.withdrawMedianMs.frr} ms`,
  ];
  return {
    report: lines.join('\n'),
    data: {
      codec,
      codecBaseline: 'JSON.stringify/JSON.parse of the same routes; Buffer copy',
      converge: conv,
    },
  };
}
