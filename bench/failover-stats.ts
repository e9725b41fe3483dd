// The failover benches' figures: ms samples → n, p50, p99, max (and the samples), per ToR over both
// families of every trial.
import { TORS, type TorName } from '../lab/addressing.js';
import { percentile } from '../lab/fabric-scenario.js';
import type { TorTimes } from './failover-watch.js';

export interface Dist {
  n: number;
  p50: number;
  p99: number;
  max: number;
  samples: number[];
}

const r1 = (x: number): number => Math.round(x * 10) / 10;
export function dist(xs: number[]): Dist {
  return {
    n: xs.length,
    p50: r1(percentile(xs, 0.5)),
    p99: r1(percentile(xs, 0.99)),
    max: r1(Math.max(...xs)),
    samples: xs.map(r1),
  };
}

/** Per ToR, both families' samples of every trial. */
export function perTor(trials: TorTimes[]): Record<TorName, Dist> {
  return Object.fromEntries(TORS.map((t) => [t, dist(trials.flatMap((x) => [x[t][4], x[t][6]]))])) as Record<
    TorName,
    Dist
  >;
}
