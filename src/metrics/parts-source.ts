// What the metrics read of a running process, as a contract of this layer (MetricsParts: the composition
// root, src/daemon/, fills it from the agent, the speaker, the data plane and the cluster), and its
// adaptation to the MetricsSource the scrapes pull: the speaker's peers() snapshot (messages by type and
// flaps as the speaker counts them), each service's state, and the data plane's counters.
import type { Rfc7606Action } from '../bgp/codec/errors.js';
import type { MessageCounts, PeerStatus } from '../bgp/speaker-status.js';
import type { InstanceReport } from '../cluster/report.js';
import type { Config } from '../config/types.js';
import type { InstanceState } from '../health/instance-health.js';
import type { HealthState } from '../health/types.js';
import type { Dataplane } from '../steer/dataplane.js';
import { VIP_F_FRAG } from '../steer/layout.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../steer/proto.js';
import { vipKeyHex, vipKeyOf } from '../steer/vips.js';
import { type CountedVip, readDataplaneMetrics } from './dataplane-source.js';
import { vipLabelsOf } from './label-sets.js';
import {
  type BgpMessageTypeName,
  type ClusterMetrics,
  type DataplaneMetrics,
  type EtcdMetrics,
  type MetricsSource,
  type PeerMetrics,
  RFC7606_ACTIONS,
  RING_KINDS,
  type RingKindName,
  type ServiceMetrics,
  type XdpAttachment,
} from './sources.js';
import { xdpAttachments } from './xdp-source.js';

/** A service's state as the metrics read it (the agent's status() gives one per service). */
export interface ServiceInput {
  name: string;
  /** Its VIPs are advertised to the peers. */
  vipAnnounced: boolean;
  instances: readonly {
    id: string;
    local: boolean;
    state: InstanceState;
    /** What a remote instance's own agent reports of it; null: nothing heard. */
    reported: Pick<InstanceReport, 'state'> | null;
    checks: readonly { name: string; state: HealthState }[];
  }[];
  /** Share of each ring's entries per instance id (0..1). */
  rings: Readonly<Record<RingKindName, Readonly<Record<string, number>>>>;
}

/** What the metrics read of a running process; every part but the config may be absent. */
export interface MetricsParts {
  /** The running config (a reload replaces it). */
  config(): Config;
  services?: () => readonly ServiceInput[];
  /** The speaker's peers() snapshot. */
  peers?: () => readonly PeerStatus[];
  /** Inbound BGP connections refused at accept since start. */
  bgpConnectionsRefused?: () => number;
  /** BFD packets dropped since start, by reason. */
  bfdDrops?: () => Readonly<Record<string, number>>;
  /** The steering program's maps. */
  dataplane?: Dataplane;
  /** The cluster channel's counters. */
  cluster?: () => ClusterMetrics;
  /** The etcd backend's state and counters. */
  etcd?: () => EtcdMetrics;
  /** Where the program is attached, in which mode (default: the kernel asked about each uplink). */
  xdp?: () => readonly XdpAttachment[];
}

const PROTO = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP } as const;

/** The speaker's counts by message type under the metric's `type` label names. */
function byType(counts: MessageCounts): Record<BgpMessageTypeName, number> {
  return {
    open: counts.open,
    update: counts.update,
    notification: counts.notification,
    keepalive: counts.keepalive,
    route_refresh: counts['route-refresh'],
  };
}

function peerMetrics(p: PeerStatus, now: number = Date.now()): PeerMetrics {
  const errors = Object.fromEntries(RFC7606_ACTIONS.map((a) => [a, 0])) as Record<Rfc7606Action, number>;
  for (const [key, n] of Object.entries(p.rfc7606)) {
    const action = key.split(':')[0] as Rfc7606Action;
    if (action in errors) errors[action] += n;
  }
  return {
    name: p.name,
    state: p.state,
    establishedSince: p.uptimeMs === null ? null : now - p.uptimeMs,
    flaps: p.flaps,
    messagesSent: byType(p.sentByType),
    messagesReceived: byType(p.receivedByType),
    prefixesAdvertised: p.prefixesAdvertised,
    prefixesReceived: p.prefixesReceived,
    prefixesAccepted: p.prefixesAccepted,
    updateErrors: errors,
    ...(p.bfd
      ? {
          bfd: {
            state: p.bfd.state,
            transitions: p.bfd.counters.transitions,
            packetsIn: p.bfd.counters.packetsIn,
            packetsOut: p.bfd.counters.packetsOut,
            sendErrors: p.bfd.counters.sendErrors,
            detectTimeMs: p.bfd.detectTimeMs,
          },
        }
      : {}),
    ...(p.linkUp === undefined ? {} : { linkUp: p.linkUp }),
    routesRejected: { ...p.routesRejected },
  };
}

function serviceMetrics(s: ServiceInput, vips: readonly string[]): ServiceMetrics {
  return {
    name: s.name,
    announced: new Map(vips.map((v) => [v, s.vipAnnounced])),
    checks: s.instances.flatMap((i) =>
      i.checks.map((c) => ({ instance: i.id, check: c.name, up: c.state === 'up' })),
    ),
    instancesHealthy: s.instances.filter((i) => i.state === 'up').length,
    ringShares: RING_KINDS.flatMap((ring) =>
      Object.entries(s.rings[ring] ?? {}).map(([instance, share]) => ({ ring, instance, share })),
    ),
    reported: s.instances
      .filter((i) => !i.local)
      .map((i) => ({ instance: i.id, state: i.reported?.state ?? 'none' })),
  };
}

/** The config's VIP counters with the ids the data plane gave them (VIPs not yet written are left out). */
function countedVips(config: Config, dp: Pick<Dataplane, 'state'>): CountedVip[] {
  const ids = new Map<string, number>();
  for (const e of dp.state.vips) if (!(e.flags & VIP_F_FRAG)) ids.set(vipKeyHex(e.key), e.vipId);
  return config.services.flatMap(vipLabelsOf).flatMap((v) => {
    const vipId = ids.get(vipKeyHex(vipKeyOf(v.vip, PROTO[v.protocol], v.port)));
    return vipId === undefined ? [] : [{ ...v, vipId }];
  });
}

/** The MetricsSource of a running process. */
export function metricsSource(parts: MetricsParts): MetricsSource {
  return {
    peers: () => (parts.peers?.() ?? []).map((p) => peerMetrics(p)),
    services: () => {
      const cfg = parts.config();
      return (parts.services?.() ?? []).map((s) =>
        serviceMetrics(s, cfg.services.find((c) => c.name === s.name)?.vips ?? []),
      );
    },
    cluster: () => parts.cluster?.() ?? null,
    etcd: () => parts.etcd?.() ?? null,
    bgpConnectionsRefused: () => parts.bgpConnectionsRefused?.() ?? 0,
    bfdDrops: () => parts.bfdDrops?.() ?? {},
    dataplane: (): DataplaneMetrics | null => {
      const dp = parts.dataplane;
      if (!dp) return null;
      const cfg = parts.config();
      const xdp = parts.xdp?.() ?? xdpAttachments(cfg.node.uplinks, dp.program.id, cfg.dataplane.xdpMode);
      return readDataplaneMetrics(dp, countedVips(cfg, dp), xdp);
    },
  };
}
