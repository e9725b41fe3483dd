// anycastd's Prometheus metrics on a registry of their own (never prom-client's global one). Names follow
// the Prometheus naming rules: prefix anycastd_, base units (seconds, bytes), _total on counters, _info
// for build information. configure(config) creates every labelled series at 0; snapshot values (peers,
// services, the kernel's counters) are pulled once per scrape by the metrics' collect() callbacks, and
// events are pushed through the MetricsRecorder methods. A service's instance is labelled `instance_id`:
// `instance` is Prometheus's own target label (a scraped `instance` would become `exported_instance`).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../config/types.js';
import type { TransitionReason } from '../health/types.js';
import { DROP_REASONS } from '../steer/layout.js';
import { type ConfigLabelSets, labelSetsOf, vipLabelStrings } from './label-sets.js';
import { MirroredCounter, SeriesSet, setStateSet } from './series.js';
import {
  BGP_MESSAGE_TYPES,
  type DataplaneMetrics,
  FSM_STATES,
  type MetricsRecorder,
  type MetricsSource,
  type PeerMetrics,
  RELOAD_RESULTS,
  type ReloadResultLabel,
  RFC7606_ACTIONS,
  type ServiceMetrics,
} from './sources.js';

export const PREFIX = 'anycastd_';
/** Check durations: 1 ms to 10 s (a timeout is at most a few seconds). */
export const CHECK_DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const MS_PER_SECOND = 1000;

interface Snapshot {
  peers: readonly PeerMetrics[];
  services: readonly ServiceMetrics[];
  dataplane: DataplaneMetrics | null;
}

export interface BuildInfo {
  version: string;
  node: string;
}

export class AnycastdMetrics implements MetricsRecorder {
  readonly registry = new Registry();
  #source: MetricsSource;
  #snapshot: Snapshot | undefined;
  readonly #sets: { sync(sets: ConfigLabelSets): void }[] = [];

  constructor(source: MetricsSource, build: BuildInfo, config?: Config) {
    this.#source = source;
    const r = [this.registry];
    const snap = (): Snapshot => this.#snap();
    new Gauge({
      name: `${PREFIX}build_info`,
      help: 'Build information: version, Node.js version and node id; always 1.',
      labelNames: ['version', 'nodejs', 'node'],
      registers: r,
    }).set({ version: build.version, nodejs: process.versions.node, node: build.node }, 1);

    // --- BGP peers
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelNames: L[],
      collect: (g: Gauge<L>) => void,
    ) => {
      const g: Gauge<L> = new Gauge({
        name: PREFIX + name,
        help,
        labelNames,
        registers: r,
        collect() {
          collect(g);
        },
      });
      return g;
    };
    const mirrored = <L extends string>(
      name: string,
      help: string,
      labelNames: L[],
      collect: (c: MirroredCounter<L>) => void,
    ) => {
      let m: MirroredCounter<L> | undefined;
      const c: Counter<L> = new Counter({
        name: PREFIX + name,
        help,
        labelNames,
        registers: r,
        collect() {
          if (m) collect(m);
        },
      });
      m = new MirroredCounter(c);
      return m;
    };
    const peerGauge = (name: string, help: string, value: (p: PeerMetrics) => number) => {
      const g = gauge(name, help, ['peer'], (g) => {
        for (const p of snap().peers) g.set({ peer: p.name }, value(p));
      });
      this.#track(SeriesSet.gauge(g), (s) => s.peer);
    };
    peerGauge('bgp_session_up', 'Whether the BGP session is Established (1) or not (0).', (p) =>
      p.state === 'established' ? 1 : 0,
    );
    const state = gauge(
      'bgp_session_state',
      'BGP FSM state of the session: 1 on the current state.',
      ['peer', 'state'],
      (g) => {
        for (const p of snap().peers) setStateSet(g, { peer: p.name }, 'state', FSM_STATES, p.state);
      },
    );
    this.#track(SeriesSet.gauge(state), (s) => s.peerState);
    peerGauge(
      'bgp_session_established_timestamp_seconds',
      'Unix time the session last became Established; 0 while it is not.',
      (p) => (p.establishedSince === null ? 0 : p.establishedSince / MS_PER_SECOND),
    );
    peerGauge('bgp_prefixes_advertised', 'Prefixes advertised to the peer.', (p) => p.prefixesAdvertised);
    peerGauge('bgp_prefixes_received', 'Prefixes received from the peer.', (p) => p.prefixesReceived);
    peerGauge(
      'bgp_prefixes_accepted',
      'Prefixes received from the peer and accepted by the import policy.',
      (p) => p.prefixesAccepted,
    );
    const flaps = mirrored(
      'bgp_session_flaps_total',
      'Times the session left Established.',
      ['peer'],
      (c) => {
        for (const p of snap().peers) c.set({ peer: p.name }, p.flaps);
      },
    );
    this.#track(flaps, (s) => s.peer);
    for (const dir of ['sent', 'received'] as const) {
      const c = mirrored(
        `bgp_messages_${dir}_total`,
        `BGP messages ${dir}, by type.`,
        ['peer', 'type'],
        (c) => {
          for (const p of snap().peers) {
            const counts = dir === 'sent' ? p.messagesSent : p.messagesReceived;
            for (const type of BGP_MESSAGE_TYPES) c.set({ peer: p.name, type }, counts[type]);
          }
        },
      );
      this.#track(c, (s) => s.peerType);
    }
    const errors = mirrored(
      'bgp_update_errors_total',
      'Malformed UPDATE messages by RFC 7606 action taken (session-reset, treat-as-withdraw, attribute-discard).',
      ['peer', 'action'],
      (c) => {
        for (const p of snap().peers)
          for (const action of RFC7606_ACTIONS) c.set({ peer: p.name, action }, p.updateErrors[action]);
      },
    );
    this.#track(errors, (s) => s.peerAction);

    // --- services, health, rings
    const announced = gauge(
      'vip_announced',
      'Whether the VIP is advertised to the BGP peers (1) or not (0).',
      ['service', 'vip'],
      (g) => {
        for (const s of snap().services)
          for (const [vip, on] of s.announced) g.set({ service: s.name, vip }, on ? 1 : 0);
      },
    );
    this.#track(SeriesSet.gauge(announced), (s) => s.serviceVip);
    const checkUp = gauge(
      'health_check_up',
      'Last result of a health check of an instance: 1 passing, 0 failing or not yet run.',
      ['service', 'instance_id', 'check'],
      (g) => {
        for (const s of snap().services)
          for (const c of s.checks)
            g.set({ service: s.name, instance_id: c.instance, check: c.check }, c.up ? 1 : 0);
      },
    );
    this.#track(SeriesSet.gauge(checkUp), (s) => s.check);
    this.#checkDuration = new Histogram({
      name: `${PREFIX}health_check_duration_seconds`,
      help: 'Time a health check probe took.',
      labelNames: ['service', 'instance_id', 'check'],
      buckets: CHECK_DURATION_BUCKETS,
      registers: r,
    });
    this.#track(SeriesSet.histogram(this.#checkDuration), (s) => s.check);
    this.#transitions = new Counter({
      name: `${PREFIX}health_transitions_total`,
      help: 'Health state changes of an instance, by reason.',
      labelNames: ['service', 'instance_id', 'reason'],
      registers: r,
    });
    this.#track(SeriesSet.counter(this.#transitions), (s) => s.transition);
    const healthy = gauge(
      'service_instances_healthy',
      'Instances of the service that are healthy (in its Maglev ring).',
      ['service'],
      (g) => {
        for (const s of snap().services) g.set({ service: s.name }, s.instancesHealthy);
      },
    );
    this.#track(SeriesSet.gauge(healthy), (s) => s.service);
    const share = gauge(
      'ring_share_ratio',
      'Fraction of a Maglev ring (new or established) owned by an instance.',
      ['service', 'ring', 'instance_id'],
      (g) => {
        for (const s of snap().services)
          for (const x of s.ringShares)
            g.set({ service: s.name, ring: x.ring, instance_id: x.instance }, x.share);
      },
    );
    this.#track(SeriesSet.gauge(share), (s) => s.ringShare);

    // --- data plane (per-CPU maps summed, read at scrape time)
    const dp = (): DataplaneMetrics | null => snap().dataplane;
    const vipLabels = ['service', 'vip', 'protocol', 'port'] as const;
    const received = mirrored(
      'dataplane_received_packets_total',
      'Packets to the VIP seen by the XDP program.',
      [...vipLabels],
      (c) => {
        for (const v of dp()?.vips ?? []) c.set(vipLabelStrings(v.labels), v.stats.packets);
      },
    );
    this.#track(received, (s) => s.vip);
    const bytes = mirrored(
      'dataplane_received_bytes_total',
      'Bytes of the packets to the VIP seen by the XDP program.',
      [...vipLabels],
      (c) => {
        for (const v of dp()?.vips ?? []) c.set(vipLabelStrings(v.labels), v.stats.bytes);
      },
    );
    this.#track(bytes, (s) => s.vip);
    const actions = mirrored(
      'dataplane_packets_total',
      'Packets to the VIP by action: local (passed to this host), forwarded (encapsulated to another), decapsulated, icmp_too_big (answered), icmp_error (steered to the flow owner).',
      [...vipLabels, 'action'],
      (c) => {
        for (const v of dp()?.vips ?? []) {
          const l = vipLabelStrings(v.labels);
          const st = v.stats;
          c.set({ ...l, action: 'local' }, st.local);
          c.set({ ...l, action: 'forwarded' }, st.forwarded);
          c.set({ ...l, action: 'decapsulated' }, st.decap);
          c.set({ ...l, action: 'icmp_too_big' }, st.too_big);
          c.set({ ...l, action: 'icmp_error' }, st.icmp_err);
        }
      },
    );
    this.#track(actions, (s) => s.vipAction);
    const drops = mirrored(
      'dataplane_dropped_packets_total',
      'Packets to the VIP dropped, by reason.',
      [...vipLabels, 'reason'],
      (c) => {
        for (const v of dp()?.vips ?? [])
          for (const reason of DROP_REASONS)
            c.set({ ...vipLabelStrings(v.labels), reason }, v.stats.drops[reason]);
      },
    );
    this.#track(drops, (s) => s.vipDrop);
    const lookups = mirrored(
      'dataplane_flow_lookups_total',
      'Flow-table lookups for VIP packets, by result (hit, miss).',
      ['result'],
      (c) => {
        const g = dp()?.global;
        if (g) {
          c.set({ result: 'hit' }, g.flow_hit);
          c.set({ result: 'miss' }, g.flow_miss);
        }
      },
    );
    lookups.sync([{ result: 'hit' }, { result: 'miss' }]);
    mirrored(
      'dataplane_parse_failures_total',
      'Packets the XDP program could not parse (passed on untouched).',
      [],
      (c) => {
        const g = dp()?.global;
        if (g) c.set({}, g.parse_fail);
      },
    ).sync([{}]);
    mirrored(
      'dataplane_non_vip_packets_total',
      'IP packets not addressed to a VIP (passed on untouched).',
      [],
      (c) => {
        const g = dp()?.global;
        if (g) c.set({}, g.non_vip);
      },
    ).sync([{}]);
    gauge('dataplane_flow_table_entries', 'Entries in the XDP flow table (LRU).', [], (g) =>
      g.set(dp()?.flows.entries ?? 0),
    );
    gauge('dataplane_flow_table_capacity', 'Maximum entries of the XDP flow table.', [], (g) =>
      g.set(dp()?.flows.capacity ?? 0),
    );
    gauge('dataplane_flow_table_fill_ratio', 'Entries of the XDP flow table over its capacity.', [], (g) => {
      const f = dp()?.flows;
      g.set(f && f.capacity > 0 ? f.entries / f.capacity : 0);
    });
    const xdp = gauge(
      'xdp_attached',
      'Whether the steering program is attached to the interface in the mode (1) or not (0).',
      ['interface', 'mode'],
      (g) => {
        for (const x of dp()?.xdp ?? []) g.set({ interface: x.interface, mode: x.mode }, x.attached ? 1 : 0);
      },
    );
    this.#track(SeriesSet.gauge(xdp), (s) => s.xdp);

    // --- config
    this.#reloads = new Counter({
      name: `${PREFIX}config_reloads_total`,
      help: 'Config reloads (SIGHUP or the control API), by result (success, failure).',
      labelNames: ['result'],
      registers: r,
    });
    SeriesSet.counter(this.#reloads).sync(RELOAD_RESULTS.map((result) => ({ result })));
    if (config) this.configure(config);
  }

  readonly #checkDuration: Histogram<'service' | 'instance_id' | 'check'>;
  readonly #transitions: Counter<'service' | 'instance_id' | 'reason'>;
  readonly #reloads: Counter<'result'>;

  /** Creates every series the config implies at 0, and drops the series of what it no longer has. */
  configure(config: Config): void {
    const sets = labelSetsOf(config);
    for (const s of this.#sets) s.sync(sets);
  }

  setSource(source: MetricsSource): void {
    this.#source = source;
  }

  checkDuration(service: string, instance: string, check: string, seconds: number): void {
    this.#checkDuration.observe({ service, instance_id: instance, check }, seconds);
  }

  transition(service: string, instance: string, reason: TransitionReason): void {
    this.#transitions.inc({ service, instance_id: instance, reason });
  }

  reload(result: ReloadResultLabel): void {
    this.#reloads.inc({ result });
  }

  /** The exposition text (what /metrics serves). */
  text(): Promise<string> {
    this.#snapshot = undefined; // a fresh pull, even when the last scrape was in this same tick
    return this.registry.metrics();
  }

  #track<T extends Record<string, string>>(
    s: { sync(sets: readonly T[]): void },
    pick: (sets: ConfigLabelSets) => readonly T[],
  ): void {
    this.#sets.push({ sync: (sets) => s.sync(pick(sets)) });
  }

  /** One pull of every source per scrape: the collect() callbacks of one scrape run in the same tick. */
  #snap(): Snapshot {
    if (!this.#snapshot) {
      const src = this.#source;
      this.#snapshot = {
        peers: src.peers?.() ?? [],
        services: src.services?.() ?? [],
        dataplane: src.dataplane?.() ?? null,
      };
      setImmediate(() => {
        this.#snapshot = undefined;
      });
    }
    return this.#snapshot;
  }
}
