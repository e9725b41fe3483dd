// How anycastd's metrics are declared: a gauge or a mirrored counter whose collect() callback fills it
// from the per-scrape snapshot, registered on one registry with the anycastd_ prefix, and `track`, which
// ties a metric's label sets to the config so configure() creates them at 0 (src/metrics/series.ts).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConfigLabelSets } from './label-sets.js';
import { MirroredCounter } from './series.js';
import type {
  ClusterMetrics,
  DataplaneMetrics,
  EtcdMetrics,
  PeerMetrics,
  ServiceMetrics,
} from './sources.js';

export const PREFIX = 'anycastd_';

/** What one scrape pulled from the sources. */
export interface Snapshot {
  peers: readonly PeerMetrics[];
  services: readonly ServiceMetrics[];
  dataplane: DataplaneMetrics | null;
  cluster: ClusterMetrics | null;
  etcd: EtcdMetrics | null;
  bgpConnectionsRefused: number;
  bfdDrops: Readonly<Record<string, number>>;
}

export class MetricFactory {
  readonly registry: Registry;
  readonly snap: () => Snapshot;
  readonly syncs: ((sets: ConfigLabelSets) => void)[] = [];

  constructor(registry: Registry, snap: () => Snapshot) {
    this.registry = registry;
    this.snap = snap;
  }

  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    collect: (g: Gauge<L>) => void,
  ): Gauge<L> {
    const g: Gauge<L> = new Gauge({
      name: PREFIX + name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        collect(g);
      },
    });
    return g;
  }

  /** A counter set from a monotonic source value at each scrape. */
  mirrored<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    collect: (c: MirroredCounter<L>) => void,
  ): MirroredCounter<L> {
    let m: MirroredCounter<L> | undefined;
    const c: Counter<L> = new Counter({
      name: PREFIX + name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        if (m) collect(m);
      },
    });
    m = new MirroredCounter(c);
    return m;
  }

  /** configure(config) will make `s`'s label sets exactly `pick(labelSetsOf(config))`. */
  track<T extends Record<string, string>>(
    s: { sync(sets: readonly T[]): void },
    pick: (sets: ConfigLabelSets) => readonly T[],
  ): void {
    this.syncs.push((sets) => s.sync(pick(sets)));
  }
}
