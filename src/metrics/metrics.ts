// anycastd's Prometheus metrics on a registry of their own (never prom-client's global one). Names follow
// the Prometheus naming rules: prefix anycastd_, base units (seconds, bytes), _total on counters, _info
// for build information. configure(config) creates every labelled series at 0; snapshot values (peers,
// services, the kernel's counters) are pulled once per scrape by the metrics' collect() callbacks, and
// events are pushed through the MetricsRecorder methods. A service's instance is labelled `instance_id`:
// `instance` is Prometheus's own target label (a scraped `instance` would become `exported_instance`).
// The metrics themselves: bgp-metrics.ts, bfd-metrics.ts, service-metrics.ts, dataplane-metrics.ts, cluster-metrics.ts.
import { Counter, Gauge, Registry } from 'prom-client';
import type { Config } from '../config/types.js';
import type { TransitionReason } from '../health/types.js';
import { defineBfdMetrics } from './bfd-metrics.js';
import { defineBgpMetrics } from './bgp-metrics.js';
import { defineClusterMetrics } from './cluster-metrics.js';
import { defineDataplaneMetrics } from './dataplane-metrics.js';
import { defineEtcdMetrics } from './etcd-metrics.js';
import { MetricFactory, PREFIX, type Snapshot } from './factory.js';
import { labelSetsOf } from './label-sets.js';
import { defineProcessMetrics, defineReloadGauges, type ReloadGauges } from './process-metrics.js';
import { SeriesSet } from './series.js';
import { defineServiceMetrics, type ServiceEventMetrics } from './service-metrics.js';
import {
  type MetricsRecorder,
  type MetricsSource,
  RELOAD_RESULTS,
  type ReloadResultLabel,
} from './sources.js';

const MS_PER_SECOND = 1000;

export { CHECK_DURATION_BUCKETS } from './service-metrics.js';
export { PREFIX };

export interface BuildInfo {
  version: string;
  node: string;
}

export class AnycastdMetrics implements MetricsRecorder {
  readonly registry = new Registry();
  #source: MetricsSource;
  #snapshot: Snapshot | undefined;
  #configured: Config | undefined;
  readonly #factory: MetricFactory;
  readonly #events: ServiceEventMetrics;
  readonly #reloads: Counter<'result'>;
  readonly #lastReload: ReloadGauges;

  constructor(source: MetricsSource, build: BuildInfo, config?: Config) {
    this.#source = source;
    const f = new MetricFactory(this.registry, () => this.#snap());
    this.#factory = f;
    new Gauge({
      name: `${PREFIX}build_info`,
      help: 'Build information: version, Node.js version and node id; always 1.',
      labelNames: ['version', 'nodejs', 'node'],
      registers: [this.registry],
    }).set({ version: build.version, nodejs: process.versions.node, node: build.node }, 1);
    defineBgpMetrics(f);
    defineBfdMetrics(f);
    this.#events = defineServiceMetrics(f);
    defineDataplaneMetrics(f);
    defineClusterMetrics(f);
    defineEtcdMetrics(f);
    this.#reloads = new Counter({
      name: `${PREFIX}config_reloads_total`,
      help: 'Config reloads (SIGHUP or the control API), by result (success, failure).',
      labelNames: ['result'],
      registers: [this.registry],
    });
    SeriesSet.counter(this.#reloads).sync(RELOAD_RESULTS.map((result) => ({ result })));
    defineProcessMetrics(this.registry);
    this.#lastReload = defineReloadGauges(this.registry, 0);
    if (config) this.configure(config);
  }

  /**
   * Creates every series the config implies at 0, and drops the series of what it no longer has. The
   * config configured last is not gone through again (at 10,000 VIPs a pass over its ~190,000 label sets
   * holds the loop for about a second).
   */
  configure(config: Config): void {
    if (config === this.#configured) return;
    this.#configured = config;
    const sets = labelSetsOf(config);
    for (const sync of this.#factory.syncs) sync(sets);
  }

  setSource(source: MetricsSource): void {
    this.#source = source;
  }

  checkDuration(service: string, instance: string, check: string, seconds: number): void {
    this.#events.checkDuration.observe({ service, instance_id: instance, check }, seconds);
  }

  transition(service: string, instance: string, reason: TransitionReason): void {
    this.#events.transitions.inc({ service, instance_id: instance, reason });
  }

  reload(result: ReloadResultLabel): void {
    this.#reloads.inc({ result });
  }

  /** A config was taken in (ok: at start or by a reload) or refused, at `atMs` (unix ms). */
  configLoaded(ok: boolean, atMs: number): void {
    this.#lastReload.record(ok, atMs / MS_PER_SECOND);
  }

  /** The exposition text (what /metrics serves). */
  text(): Promise<string> {
    this.#snapshot = undefined; // a fresh pull, even when the last scrape was in this same tick
    return this.registry.metrics();
  }

  /** One pull of every source per scrape: the collect() callbacks of one scrape run in the same tick. */
  #snap(): Snapshot {
    if (!this.#snapshot) {
      const src = this.#source;
      this.#snapshot = {
        peers: src.peers?.() ?? [],
        services: src.services?.() ?? [],
        dataplane: src.dataplane?.() ?? null,
        cluster: src.cluster?.() ?? null,
        etcd: src.etcd?.() ?? null,
        bgpConnectionsRefused: src.bgpConnectionsRefused?.() ?? 0,
        bfdDrops: src.bfdDrops?.() ?? {},
      };
      setImmediate(() => {
        this.#snapshot = undefined;
      });
    }
    return this.#snapshot;
  }
}
